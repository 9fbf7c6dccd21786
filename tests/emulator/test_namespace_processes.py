"""Processes of a real container (namespace mode) through the ABI behave as
in host mode: signals reach the whole process group."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcsemu_abi as abi
import pytest
from conftest import layered_document

pytestmark = pytest.mark.privileged


def process_call(
    hcs: abi.Library, name: str, process: Any, options: str | None = None
) -> tuple[int, str | None]:
    fn = getattr(hcs.lib, name)
    return hcs.call(lambda op: fn(process, op, hcs.w(options)))


@pytest.fixture
def container(hcs: abi.Library, sysid: str, tmp_path: Path, base_layer: Path) -> Iterator[Any]:
    handle = hcs.running_system(sysid, layered_document(base_layer, tmp_path))
    assert hcs.properties(handle)["EmulatorMode"] == "namespace"
    yield handle
    hcs.system_call("HcsTerminateComputeSystem", handle)
    hcs.HcsCloseComputeSystem(handle)


def images(hcs: abi.Library, system: Any) -> list[str]:
    props = hcs.properties(system, {"PropertyTypes": ["ProcessList"]})
    return [p["ImageName"] for p in props["ProcessList"]]


@pytest.mark.parametrize(
    ("call", "options", "exit_code"),
    [
        ("HcsSignalProcess", {"Signal": "CtrlC"}, 130),
        ("HcsSignalProcess", {"Signal": "CtrlClose"}, 143),
        ("HcsTerminateProcess", None, 137),
    ],
)
def test_signals_reach_the_process_group(
    hcs: abi.Library, container: Any, call: str, options: dict[str, Any] | None, exit_code: int
) -> None:
    """PROTOCOL.md: to the process group, as in host mode: the shell's
    foreground child dies with it."""
    code, process, _, doc = hcs.create_process(
        container, {"CommandArgs": ["sh", "-c", "sleep 987; echo after"]}
    )
    assert code == abi.S_OK, doc
    try:
        deadline = time.monotonic() + 30
        while "sleep" not in images(hcs, container):
            assert time.monotonic() < deadline, "sleep never started"
            time.sleep(0.02)
        sent = process_call(hcs, call, process, json.dumps(options) if options else None)
        assert sent == (abi.S_OK, None)
        assert hcs.wait_process(process, 10_000)[1]["ExitCode"] == exit_code  # type: ignore[index]
        deadline = time.monotonic() + 10
        while images(hcs, container) != ["hcsemu-init"]:  # sleep died too
            assert time.monotonic() < deadline, images(hcs, container)
            time.sleep(0.02)
    finally:
        hcs.HcsCloseProcess(process)
