"""Processes through the ABI (reference 3.3): stdio as fds, parameters,
signals, exit codes, open by pid, consoles."""

from __future__ import annotations

import json
import os
import select
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from . import hcsemu_abi as abi
from .hcsemu_abi import ffi, hr


def fd_of(handle: Any) -> int | None:
    value = int(ffi.cast("uintptr_t", handle))
    return None if value in (0, abi.INVALID_HANDLE_VALUE) else value


def read_all(fd: int, timeout: float = 30) -> bytes:
    chunks = []
    while True:
        readable, _, _ = select.select([fd], [], [], timeout)
        assert readable, "no output in time"
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # a pty master reads EIO once the slave is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


@pytest.fixture
def system(hcs: abi.Library, sysid: str) -> Iterator[Any]:
    handle = hcs.running_system(sysid)
    yield handle
    hcs.system_call("HcsTerminateComputeSystem", handle)
    hcs.HcsCloseComputeSystem(handle)


def run(hcs: abi.Library, system: Any, params: dict[str, Any]) -> tuple[Any, Any]:
    code, process, info, doc = hcs.create_process(system, params)
    assert code == abi.S_OK, (hex(code), doc)
    return process, info


def test_pipes_are_fds_owned_by_the_caller(hcs: abi.Library, system: Any) -> None:
    process, info = run(
        hcs,
        system,
        {
            "CommandLine": 'sh -c "read line; echo out:$line; echo err >&2; exit 7"',
            "CreateStdInPipe": True,
            "CreateStdOutPipe": True,
            "CreateStdErrPipe": True,
        },
    )
    try:
        fds = [fd_of(info.StdInput), fd_of(info.StdOutput), fd_of(info.StdError)]
        assert all(fd is not None and fd >= 3 for fd in fds)
        stdin, stdout, stderr = (int(fd) for fd in fds if fd is not None)
        os.write(stdin, b"hello\n")
        os.close(stdin)
        assert read_all(stdout) == b"out:hello\n"
        assert read_all(stderr) == b"err\n"
        code, status = hcs.wait_process(process)
        assert code == abi.S_OK
        assert status == {
            "ProcessId": info.ProcessId,
            "Exited": True,
            "ExitCode": 7,
            "LastWaitResult": 0,
        }
    finally:
        hcs.HcsCloseProcess(process)


def test_stdio_is_handed_out_once(hcs: abi.Library, system: Any) -> None:
    out = ffi.new("HCS_PROCESS *")
    op = hcs.op()
    try:
        params = hcs.w(json.dumps({"CommandArgs": ["true"], "CreateStdOutPipe": True}))
        assert hcs.HcsCreateProcess(system, params, op, ffi.NULL, out) == abi.S_OK
        assert hcs.HcsGetProcessFromOperation(op) == out[0]
        assert hcs.HcsGetComputeSystemFromOperation(op) == system
        code, _, first = hcs.wait_info(op)
        assert code == abi.S_OK and fd_of(first.StdOutput) is not None
        assert fd_of(first.StdInput) is None and fd_of(first.StdError) is None
        again = ffi.new("HCS_PROCESS_INFORMATION *")
        assert hcs.HcsGetOperationResultAndProcessInfo(op, again, ffi.NULL) == abi.S_OK
        assert again.ProcessId == first.ProcessId
        assert again.StdOutput == ffi.NULL  # ownership moved with the first call
        os.close(int(fd_of(first.StdOutput) or -1))
        assert hcs.HcsGetOperationResult(op, ffi.NULL) == abi.S_OK  # the plain variant works too
    finally:
        hcs.HcsCloseOperation(op)
        hcs.HcsCloseProcess(out[0])


def test_process_info_only_for_process_operations(hcs: abi.Library) -> None:
    op = hcs.op()
    try:
        assert hcs.HcsEnumerateComputeSystems(ffi.NULL, op) == abi.S_OK
        hcs.wait(op)
        info = ffi.new("HCS_PROCESS_INFORMATION *")
        code = hcs.HcsGetOperationResultAndProcessInfo(op, info, ffi.NULL)
        assert hr(code) == abi.E_INVALIDARG
    finally:
        hcs.HcsCloseOperation(op)


def test_parameters_reach_the_process(hcs: abi.Library, system: Any, tmp_path: Any) -> None:
    process, info = run(
        hcs,
        system,
        {
            "CommandArgs": ["sh", "-c", 'echo "$FOO|$PWD|$1|$$"', "argv0", "two words"],
            "Environment": {"FOO": "bar baz"},
            "WorkingDirectory": str(tmp_path),
            "CreateStdOutPipe": True,
        },
    )
    output = read_all(int(fd_of(info.StdOutput) or -1)).decode()
    assert output == f"bar baz|{tmp_path}|two words|{info.ProcessId}\n"
    assert hcs.wait_process(process)[1]["ExitCode"] == 0  # type: ignore[index]
    hcs.HcsCloseProcess(process)


@pytest.mark.parametrize(
    ("command_line", "expected"),
    [
        ('printf "%s|" a "b c" d\\"e', 'a|b c|d"e|'),
        ('printf "%s|" "x\\\\\\"y"', 'x\\"y|'),
        ('printf "%s|" a\\\\\\\\"b c"', "a\\\\b c|"),
    ],
)
def test_command_line_is_split_like_windows(
    hcs: abi.Library, system: Any, command_line: str, expected: str
) -> None:
    process, info = run(hcs, system, {"CommandLine": command_line, "CreateStdOutPipe": True})
    assert read_all(int(fd_of(info.StdOutput) or -1)).decode() == expected
    hcs.HcsCloseProcess(process)


def test_missing_program_and_directory(hcs: abi.Library, system: Any) -> None:
    code, process, _, doc = hcs.create_process(system, {"CommandArgs": ["/no/such/program"]})
    assert code == abi.ERROR_FILE_NOT_FOUND
    assert "/no/such/program" in json.loads(doc or "")["ErrorMessage"]
    # The handle of a failed creation leads to no process.
    assert hcs.call(lambda op: hcs.HcsGetProcessInfo(process, op))[0] == abi.ERROR_NOT_FOUND
    hcs.HcsCloseProcess(process)
    code, process, _, doc = hcs.create_process(
        system, {"CommandArgs": ["true"], "WorkingDirectory": "/no/such/dir"}
    )
    assert code == 0x8007010B and "/no/such/dir" in json.loads(doc or "")["ErrorMessage"]
    hcs.HcsCloseProcess(process)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, abi.E_INVALIDARG),
        ({"CommandLine": "x", "Bogus": 1}, abi.HCS_E_INVALID_JSON),
        ({"CommandArgs": "ls"}, abi.HCS_E_INVALID_JSON),
        ({"CommandLine": "true", "ConsoleSize": [1]}, abi.HCS_E_INVALID_JSON),
        ({"CommandLine": "true", "Environment": {"A": 1}}, abi.HCS_E_INVALID_JSON),
    ],
)
def test_bad_parameters(
    hcs: abi.Library, system: Any, params: dict[str, Any], expected: int
) -> None:
    code, process, _, doc = hcs.create_process(system, params)
    hcs.HcsCloseProcess(process)
    assert code == expected and json.loads(doc or "")["ErrorMessage"]


def test_process_calls_need_a_running_system(hcs: abi.Library, sysid: str) -> None:
    code, system, _ = hcs.create_system(sysid)
    try:
        code, process, _, _ = hcs.create_process(system, {"CommandArgs": ["true"]})
        hcs.HcsCloseProcess(process)
        assert code == abi.HCS_E_INVALID_STATE
        sd = ffi.cast("SECURITY_DESCRIPTOR *", 0x10)
        out = ffi.new("HCS_PROCESS *")
        code, _ = hcs.call(lambda op: hcs.HcsCreateProcess(system, hcs.w("{}"), op, sd, out))
        assert code == abi.E_INVALIDARG
        code, _ = hcs.call(
            lambda op: hcs.HcsCreateProcess(ffi.NULL, hcs.w("{}"), op, ffi.NULL, out)
        )
        assert code == abi.E_HANDLE
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)


def process_call(
    hcs: abi.Library, name: str, process: Any, options: str | None = None
) -> tuple[int, str | None]:
    fn = getattr(hcs.lib, name)
    return hcs.call(lambda op: fn(process, op, hcs.w(options)))


TRAP = 'trap "echo got-$0; exit 3" {sig}; echo ready; while :; do sleep 0.05; done'


@pytest.mark.parametrize(
    ("signal_value", "trapped"),
    [
        ("CtrlC", "INT"),
        ("CtrlBreak", "QUIT"),
        ("CtrlClose", "TERM"),
        ("CtrlShutdown", "TERM"),
        (int(signal.SIGUSR1), "USR1"),
    ],
)
def test_signals(hcs: abi.Library, system: Any, signal_value: Any, trapped: str) -> None:
    process, info = run(
        hcs,
        system,
        {"CommandArgs": ["sh", "-c", TRAP.format(sig=trapped), trapped], "CreateStdOutPipe": True},
    )
    stdout = int(fd_of(info.StdOutput) or -1)
    assert os.read(stdout, 64) == b"ready\n"
    options = json.dumps({"Signal": signal_value})
    assert process_call(hcs, "HcsSignalProcess", process, options) == (abi.S_OK, None)
    assert read_all(stdout) == f"got-{trapped}\n".encode()
    assert hcs.wait_process(process)[1]["ExitCode"] == 3  # type: ignore[index]
    code, doc = process_call(hcs, "HcsSignalProcess", process, options)
    assert code == abi.HCS_E_PROCESS_ALREADY_STOPPED and json.loads(doc or "")["ErrorMessage"]
    hcs.HcsCloseProcess(process)


def test_terminate_and_exit_status(hcs: abi.Library, system: Any) -> None:
    process, info = run(hcs, system, {"CommandArgs": ["sleep", "600"]})
    try:
        assert hcs.wait_process(process, 50) == (abi.HCS_E_OPERATION_TIMEOUT, None)
        code, doc = process_call(hcs, "HcsGetProcessProperties", process)
        assert code == abi.S_OK
        assert json.loads(doc or "") == {
            "ProcessId": info.ProcessId,
            "Exited": False,
            "LastWaitResult": 0,
        }
        assert process_call(hcs, "HcsTerminateProcess", process, "") == (abi.S_OK, None)
        code, status = hcs.wait_process(process)
        assert status == {
            "ProcessId": info.ProcessId,
            "Exited": True,
            "ExitCode": 137,
            "LastWaitResult": 0,
        }
        assert (
            process_call(hcs, "HcsTerminateProcess", process)[0]
            == abi.HCS_E_PROCESS_ALREADY_STOPPED
        )
        code, doc = process_call(hcs, "HcsGetProcessProperties", process)
        assert json.loads(doc or "")["ExitCode"] == 137
        assert hcs.wait_process(process, 0)[0] == abi.S_OK
    finally:
        hcs.HcsCloseProcess(process)


def test_signal_options_are_checked(hcs: abi.Library, system: Any) -> None:
    process, _ = run(hcs, system, {"CommandArgs": ["sleep", "600"]})
    try:
        for bad in (None, "{}", '{"Signal": "CtrlZ"}', '{"Signal": 99}', '{"Signal": 2, "X": 1}'):
            code, _doc = process_call(hcs, "HcsSignalProcess", process, bad)
            assert code in (abi.E_INVALIDARG, abi.HCS_E_INVALID_JSON), bad
    finally:
        process_call(hcs, "HcsTerminateProcess", process)
        hcs.HcsCloseProcess(process)


def test_open_process_by_pid(hcs: abi.Library, system: Any) -> None:
    process, info = run(hcs, system, {"CommandArgs": ["sleep", "600"]})
    opened = ffi.new("HCS_PROCESS *")
    try:
        assert hr(hcs.HcsOpenProcess(system, info.ProcessId, 1, opened)) == abi.E_INVALIDARG
        assert hcs.HcsOpenProcess(system, info.ProcessId, 0x10000000, opened) == abi.S_OK
        op = hcs.op()
        assert hcs.HcsGetProcessInfo(opened[0], op) == abi.S_OK
        code, _, got = hcs.wait_info(op)
        hcs.HcsCloseOperation(op)
        assert code == abi.S_OK and got.ProcessId == info.ProcessId
        for handle in (got.StdInput, got.StdOutput, got.StdError):
            assert int(ffi.cast("uintptr_t", handle)) == abi.INVALID_HANDLE_VALUE
        assert process_call(hcs, "HcsTerminateProcess", opened[0])[0] == abi.S_OK
        assert hcs.wait_process(process)[1]["ExitCode"] == 137  # type: ignore[index]
        hcs.HcsCloseProcess(opened[0])
        gone = hcs.HcsOpenProcess(system, info.ProcessId, 0x10000000, opened)
        assert hr(gone) == abi.ERROR_NOT_FOUND and opened[0] == ffi.NULL
        assert hr(hcs.HcsOpenProcess(system, 1, 0x10000000, opened)) == abi.ERROR_NOT_FOUND
        assert hr(hcs.HcsOpenProcess(ffi.NULL, 1, 0x10000000, opened)) == abi.E_HANDLE
    finally:
        hcs.HcsCloseProcess(process)


def test_console_is_a_pty(hcs: abi.Library, system: Any) -> None:
    process, info = run(
        hcs,
        system,
        {
            "CommandArgs": [
                "sh",
                "-c",
                'stty size; test -t 0 && echo tty; read x; stty size; echo "$x"',
            ],
            "EmulateConsole": True,
            "ConsoleSize": [24, 100],
            "CreateStdInPipe": True,
            "CreateStdOutPipe": True,
            "CreateStdErrPipe": True,
        },
    )
    stdin, stdout = int(fd_of(info.StdInput) or -1), int(fd_of(info.StdOutput) or -1)
    assert fd_of(info.StdError) is None  # merged into the console
    seen = b""
    while b"tty" not in seen:
        seen += os.read(stdout, 1024)
    assert b"24 100" in seen
    resize = json.dumps({"Operation": "ConsoleSize", "ConsoleSize": {"Height": 30, "Width": 120}})
    assert process_call(hcs, "HcsModifyProcess", process, resize) == (abi.S_OK, None)
    os.write(stdin, b"typed\n")
    os.close(stdin)
    rest = read_all(stdout)
    assert b"30 120" in rest and b"typed" in rest
    assert hcs.wait_process(process)[1]["ExitCode"] == 0  # type: ignore[index]
    code, _ = process_call(hcs, "HcsModifyProcess", process, resize)
    assert code == abi.HCS_E_PROCESS_ALREADY_STOPPED
    hcs.HcsCloseProcess(process)


def test_modify_process_requests(hcs: abi.Library, system: Any) -> None:
    process, _ = run(hcs, system, {"CommandArgs": ["sleep", "600"]})
    try:
        resize = json.dumps({"Operation": "ConsoleSize", "ConsoleSize": {"Height": 1, "Width": 2}})
        assert (
            process_call(hcs, "HcsModifyProcess", process, resize)[0] == abi.E_INVALIDARG
        )  # no console
        close = json.dumps({"Operation": "CloseHandle", "CloseHandle": {"Handle": "StdIn"}})
        assert process_call(hcs, "HcsModifyProcess", process, close) == (abi.S_OK, None)
        for bad in ('{"Operation": "Reboot"}', '{"Operation": "ConsoleSize"}', "{}"):
            code, _ = process_call(hcs, "HcsModifyProcess", process, bad)
            assert code in (abi.E_INVALIDARG, abi.HCS_E_INVALID_JSON), bad
        assert process_call(hcs, "HcsModifyProcess", process, None)[0] == abi.E_INVALIDARG
    finally:
        process_call(hcs, "HcsTerminateProcess", process)
        hcs.HcsCloseProcess(process)


def test_invalid_process_handles(hcs: abi.Library) -> None:
    garbage = ffi.cast("HCS_PROCESS", 0xBAD0)
    for name in (
        "HcsTerminateProcess",
        "HcsSignalProcess",
        "HcsGetProcessProperties",
        "HcsModifyProcess",
    ):
        assert process_call(hcs, name, garbage, "{}")[0] == abi.E_HANDLE
    assert hcs.call(lambda op: hcs.HcsGetProcessInfo(garbage, op))[0] == abi.E_HANDLE
    log = abi.EventLog()
    assert hr(hcs.HcsSetProcessCallback(garbage, 0, ffi.NULL, log.callback)) == abi.E_HANDLE
    assert hcs.wait_process(garbage, 0) == (abi.E_HANDLE, None)
    hcs.HcsCloseProcess(garbage)


def test_signal_exit_codes_are_128_plus_signal(hcs: abi.Library, system: Any) -> None:
    process, _ = run(hcs, system, {"CommandArgs": ["sh", "-c", "kill -SEGV $$"]})
    assert hcs.wait_process(process)[1]["ExitCode"] == 128 + signal.SIGSEGV  # type: ignore[index]
    hcs.HcsCloseProcess(process)
