"""The cancel grace is a setting (issue 12, item 11): per call, per block of
code, per process and from the environment, and past it an operation is
abandoned (still closed when it completes), never freed in flight."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import hcsaio
from hcsaio._core import _grace, _operation
from hcsaio._core._dispatch import all_pending, current_dispatcher
from hcsaio.errors import HcsTimeoutError

from .conftest import settle

pytestmark = pytest.mark.anyio

#: The fake honours a cancel only when this delay is over.
SLOW = "delay_us=400000"


@pytest.fixture
def restore_default():
    saved = _grace._default
    yield
    _grace._default = saved


async def _abandoned_by(fake, **options) -> HcsTimeoutError:
    """Time out a slow start and check it was abandoned, then closed late."""
    system = await fake.create_system()
    before = fake.live()
    with pytest.raises(HcsTimeoutError) as info:
        await _operation.run(
            fake.library, "HcsStartComputeSystem", fake.start(system, SLOW), timeout=0.02, **options
        )
    assert info.value.outcome is None
    assert "abandoned" in str(info.value)
    assert [p.state for p in all_pending() if p.operation == "HcsStartComputeSystem"] == [
        "abandoned"
    ]
    # Nothing was freed in flight; the late completion closes it.
    await settle(fake, before)
    dispatcher = current_dispatcher()
    assert dispatcher.pending == {} and dispatcher.stats()["orphans"] == 0
    return info.value


async def test_per_call_grace_abandons_and_closes_late(fake) -> None:
    await _abandoned_by(fake, cancel_grace=0.05)


async def test_zero_grace_abandons_at_once(fake) -> None:
    await _abandoned_by(fake, cancel_grace=0)


async def test_block_grace_applies_to_operations_started_inside(fake) -> None:
    with hcsaio.cancel_grace(0.05):
        await _abandoned_by(fake)


async def test_per_call_grace_beats_the_block_and_the_default(fake, restore_default) -> None:
    hcsaio.set_default_cancel_grace(60)
    with hcsaio.cancel_grace(60):
        await _abandoned_by(fake, cancel_grace=0.05)


async def test_process_default_grace(fake, restore_default) -> None:
    hcsaio.set_default_cancel_grace(0.05)
    assert hcsaio.default_cancel_grace() == 0.05
    await _abandoned_by(fake)


async def test_grace_long_enough_waits_for_the_completion(fake) -> None:
    system = await fake.create_system()
    with pytest.raises(HcsTimeoutError) as info:
        await _operation.run(
            fake.library,
            "HcsStartComputeSystem",
            fake.start(system, SLOW),
            timeout=0.02,
            cancel_grace=30,
        )
    assert info.value.outcome == 0x800704C7  # completed (cancelled), not abandoned


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1", TypeError),
        (True, TypeError),
    ],
)
async def test_bad_grace_fails_before_hcs(fake, value, error, restore_default) -> None:
    calls: list[object] = []
    with pytest.raises(error, match="cancel_grace"):
        await _operation.run(fake.library, "X", calls.append, cancel_grace=value)
    with pytest.raises(error, match="cancel_grace"), hcsaio.cancel_grace(value):
        pass
    with pytest.raises(error, match="cancel_grace"):
        hcsaio.set_default_cancel_grace(value)
    assert calls == []


def _python(code: str, grace: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HCSAIO_CANCEL_GRACE": grace}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_environment_sets_the_default() -> None:
    out = _python("import hcsaio; print(hcsaio.default_cancel_grace())", " 2.5 ")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2.5"


def test_bad_environment_value_fails_naming_the_variable() -> None:
    # The first use of hcsaio on a loop reads it: it fails there, before HCS.
    code = (
        "import asyncio\n"
        "from hcsaio._core._dispatch import current_dispatcher\n"
        "async def main():\n"
        "    current_dispatcher()\n"
        "asyncio.run(main())\n"
    )
    for bad in ("soon", "-1", "nan"):
        out = _python(code, bad)
        assert out.returncode != 0
        assert "ValueError" in out.stderr and "HCSAIO_CANCEL_GRACE" in out.stderr, out.stderr
