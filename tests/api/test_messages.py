"""What users read: error messages say what happened in public terms, once,
with symbolic names; exec/run spell out their keywords."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest

import hcsaio
from hcsaio import errors
from hcsaio.compute._service import modify_service_settings_raw

from .conftest import host_document

pytestmark = pytest.mark.anyio


@pytest.fixture
async def slow() -> AsyncIterator[Callable[..., Awaitable[None]]]:
    async def set_delays(**delays: float) -> None:
        await modify_service_settings_raw(
            json.dumps({"PropertyType": "EmulatorFaults", "Settings": {"Delays": delays}})
        )

    yield set_delays
    await modify_service_settings_raw(
        json.dumps({"PropertyType": "EmulatorFaults", "Settings": {}})
    )


async def test_run_timeout_says_the_process_was_killed(new_system) -> None:
    system = await new_system()
    with anyio.fail_after(30), pytest.raises(hcsaio.HcsTimeoutError) as info:
        await system.run("sleep", "1000", timeout=0.3)
    text = str(info.value)
    assert "communicate" not in text  # an internal step, not what the user called
    assert "abandoned" not in text and "cancel request" not in text
    assert "killed" in text
    assert info.value.operation == "process exit"
    assert info.value.waited is not None and info.value.waited >= 0.3
    assert info.value.pid is not None and str(info.value.pid) in text


async def test_wait_timeout_says_the_process_keeps_running(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sleep", "1000")
    with pytest.raises(hcsaio.HcsTimeoutError) as info:
        await proc.wait(timeout=0.1)
    text = str(info.value)
    assert "abandoned" not in text and "cancel request" not in text
    assert "waiting for wait" not in text
    assert "keeps running" in text
    proc.kill()
    await proc.wait(timeout=30)
    await proc.close()


async def test_cancelled_outcome_is_named(new_system, slow) -> None:
    system = await new_system()
    await slow(GetProperties=5)
    with pytest.raises(hcsaio.HcsTimeoutError) as info:
        await system.properties(timeout=0.2)
    assert info.value.outcome == 0x800704C7
    assert "ERROR_CANCELLED" in str(info.value)
    assert "HcsGetComputeSystemProperties" in str(info.value)


async def test_hcs_message_is_not_repeated(new_system) -> None:
    system = await new_system()
    with pytest.raises(errors.NotSupported) as info:
        await system.save({"SaveType": "ToFile", "SaveStateFilePath": "/tmp/x"})
    err = info.value
    assert err.error_events and err.error_events[0].message == err.message  # HCS's habit
    assert str(err).count(err.message) == 1, str(err)


def test_event_details_that_add_something_are_kept() -> None:
    from hcsaio.schema.v2 import ErrorEvent

    err = errors.HcsError(
        0x80004005,
        "HcsStartComputeSystem",
        message="Start failed.",
        error_events=[ErrorEvent(message="Start failed."), ErrorEvent(message="disk full")],
    )
    assert str(err).count("Start failed.") == 1
    assert "disk full" in str(err)


@pytest.mark.parametrize("bad", ["-abc", ".hidden", "_x"])
async def test_id_with_a_bad_first_character_is_told_so(bad: str) -> None:
    with pytest.raises(ValueError, match="compute system id") as info:
        await hcsaio.create_compute_system(bad, host_document())
    text = str(info.value)
    assert "contains" not in text
    assert f"starts with {bad[0]!r}" in text and "letter or digit" in text


async def test_id_with_a_bad_character_names_it() -> None:
    with pytest.raises(ValueError, match="contains ' '"):
        await hcsaio.create_compute_system("a b", host_document())


# ---- exec/run keywords --------------------------------------------------------

EXEC_KEYWORDS = {
    "stdin",
    "stdout",
    "stderr",
    "env",
    "cwd",
    "user",
    "tty",
    "console_size",
    "timeout",
}
RUN_KEYWORDS = EXEC_KEYWORDS | {"input", "capture_output", "check"}


@pytest.mark.parametrize(
    ("method", "keywords"),
    [(hcsaio.Container.exec, EXEC_KEYWORDS), (hcsaio.Container.run, RUN_KEYWORDS)],
    ids=["exec", "run"],
)
def test_exec_and_run_spell_out_their_keywords(method, keywords) -> None:
    parameters = inspect.signature(method).parameters
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    named = {n for n, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert named == keywords
    doc = inspect.getdoc(method) or ""
    for name in keywords:
        assert parameters[name].annotation is not inspect.Parameter.empty, name
        assert name in doc, f"{name} is not documented"


@pytest.mark.parametrize("method", ["exec", "run"])
async def test_a_bad_keyword_is_reported_under_the_public_name(new_system, method) -> None:
    system = await new_system()
    with pytest.raises(TypeError) as info:
        await getattr(system, method)("true", stdot=hcsaio.PIPE)
    text = str(info.value)
    assert f"Container.{method}()" in text and "'stdot'" in text
    assert "exec_process" not in text and "run_process" not in text
