"""Processes of a real container (namespace mode) through the ABI behave as
in host mode: consoles are terminals the process can name (its own
/dev/pts), and signals reach the whole process group."""

from __future__ import annotations

import json
import os
import select
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import hcsemu_abi as abi
from .conftest import layered_document
from .hcsemu_abi import ffi

pytestmark = pytest.mark.privileged


def fd_of(handle: Any) -> int:
    return int(ffi.cast("uintptr_t", handle))


def process_call(
    hcs: abi.Library, name: str, process: Any, options: str | None = None
) -> tuple[int, str | None]:
    fn = getattr(hcs.lib, name)
    return hcs.call(lambda op: fn(process, op, hcs.w(options)))


def read_until(fd: int, marker: bytes, seen: bytes = b"", timeout: float = 30) -> bytes:
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0 and select.select([fd], [], [], left)[0], f"no {marker!r} in {seen!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the console's last slave is gone
            chunk = b""
        assert chunk, f"no {marker!r} in {seen!r}"
        seen += chunk
    return seen


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


def test_tty_console_size_and_resize(hcs: abi.Library, container: Any) -> None:
    """tests/api/test_processes.py::test_tty_console_size_and_resize in a real
    container, and the console is a terminal the process finds by name."""
    code, process, info, doc = hcs.create_process(
        container,
        {
            "CommandArgs": ["sh", "-c", "tty; stty size; read line; stty size"],
            "EmulateConsole": True,
            "ConsoleSize": [24, 80],
            "CreateStdInPipe": True,
            "CreateStdOutPipe": True,
        },
    )
    assert code == abi.S_OK, doc
    stdin, stdout = fd_of(info.StdInput), fd_of(info.StdOutput)
    try:
        seen = read_until(stdout, b"24 80")
        name = seen.split()[0].decode()
        assert name.startswith("/dev/pts/"), seen  # `tty` says "not a tty" otherwise
        resize = {"Operation": "ConsoleSize", "ConsoleSize": {"Height": 40, "Width": 120}}
        assert process_call(hcs, "HcsModifyProcess", process, json.dumps(resize))[0] == abi.S_OK
        os.write(stdin, b"go\n")
        read_until(stdout, b"40 120", seen)
        assert hcs.wait_process(process)[1]["ExitCode"] == 0  # type: ignore[index]
    finally:
        os.close(stdin)
        os.close(stdout)
        hcs.HcsCloseProcess(process)


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
