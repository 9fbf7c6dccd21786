"""``Container.exec`` and ``Container.run``: argv in, process out.

The stdio constants have asyncio.subprocess's values so code can pass
either module's. HCS only creates pipes or nothing: ``None`` and
``DEVNULL`` both mean "no pipe" (the process gets the null device; there is
no parent console to inherit). ``stderr=STDOUT`` is emulated by reading
both pipes into one reader (ordering between them is by arrival), except
with a tty, where the console already merges them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import anyio

from .._core._handle import Deadline
from ..errors import HcsError, HcsTimeoutError, ProcessExitError
from ..schema import process_parameters

if TYPE_CHECKING:
    from ._process import Process
    from ._system import Container

PIPE: Final = subprocess.PIPE  # -1
STDOUT: Final = subprocess.STDOUT  # -2
DEVNULL: Final = subprocess.DEVNULL  # -3

#: How long run() waits for a killed process to be reported gone.
KILL_WAIT: Final = 10.0
#: How long run()'s close waits for its operations (the kill) to complete.
CLOSE_WAIT: Final = 10.0


@dataclass(frozen=True)
class CompletedProcess:
    """What :meth:`Container.run` returns, like ``subprocess.CompletedProcess``."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes | None = None
    stderr: bytes | None = None

    def check_returncode(self) -> None:
        if self.returncode != 0:
            raise ProcessExitError(self.returncode, self.args, self.stdout, self.stderr)


def _wants_pipe(value: object, what: str, *, allow_stdout: bool = False) -> bool:
    if value is None or value == DEVNULL:
        return False
    if value == PIPE:
        return True
    if allow_stdout and value == STDOUT:
        return True
    allowed = "PIPE, DEVNULL, STDOUT or None" if allow_stdout else "PIPE, DEVNULL or None"
    raise ValueError(f"{what} must be {allowed}, got {value!r}")


async def exec_process(
    container: Container,
    argv: Sequence[str],
    *,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    user: str | None = None,
    tty: bool = False,
    console_size: tuple[int, int] | os.terminal_size | None = None,
    timeout: float | None = None,
) -> Process:
    want_in = _wants_pipe(stdin, "stdin")
    want_out = _wants_pipe(stdout, "stdout")
    want_err = _wants_pipe(stderr, "stderr", allow_stdout=True)
    merge = stderr == STDOUT
    if merge and not want_out:
        raise ValueError("stderr=STDOUT needs stdout=PIPE")
    parameters = process_parameters(
        list(argv),
        env=env,
        cwd=cwd,
        user=user,
        tty=tty,
        console_size=console_size,
        stdin=want_in,
        stdout=want_out,
        stderr=want_err and not tty,  # a console carries stderr on stdout
    )
    return await container.create_process(parameters, timeout=timeout, merge_stderr=merge)


async def run_process(
    container: Container,
    argv: Sequence[str],
    *,
    input: bytes | None = None,
    capture_output: bool = False,
    check: bool = False,
    timeout: float | None = None,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    user: str | None = None,
    tty: bool = False,
    console_size: tuple[int, int] | os.terminal_size | None = None,
) -> CompletedProcess:
    if input is not None:
        if stdin is not None:
            raise ValueError("stdin and input arguments may not both be used")
        stdin = PIPE
    if capture_output:
        if stdout is not None or stderr is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output")
        stdout = stderr = PIPE
    deadline = Deadline(timeout)
    process = await exec_process(
        container,
        argv,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=env,
        cwd=cwd,
        user=user,
        tty=tty,
        console_size=console_size,
        timeout=deadline.remaining(),
    )
    try:
        try:
            out, err = await process.communicate(input, timeout=deadline.remaining())
        except BaseException as exc:
            # subprocess.run kills the child on timeout (and on any error) and
            # waits for it, so nothing keeps running behind the caller's back.
            with anyio.CancelScope(shield=True):
                gone = await _kill_and_wait(process)
            if isinstance(exc, HcsTimeoutError):
                # communicate() is run's own business: say what run waited
                # for, for how long, and what it did about it.
                raise HcsTimeoutError(
                    exc.hresult,
                    "process exit",
                    id=exc.id,
                    pid=exc.pid,
                    waited=deadline.elapsed(),
                    note="the process was killed"
                    if gone
                    else f"the process was killed but had not exited {KILL_WAIT:g} s later",
                ) from None
            raise
        code = process.returncode
        assert code is not None
    finally:
        with anyio.CancelScope(shield=True):
            # close() waits for the kill's HcsTerminateProcess (HcsCloseProcess
            # must not overtake it), bounded.
            await process.close(timeout=CLOSE_WAIT)
    result = CompletedProcess(tuple(argv), code, out, err)
    if check:
        result.check_returncode()
    return result


async def _kill_and_wait(process: Process) -> bool:
    """Kill ``process`` and wait (bounded) for its exit; whether it is gone."""
    with contextlib.suppress(HcsError):
        process.kill()
        await process.wait(timeout=KILL_WAIT)
    return process.returncode is not None


__all__ = ["DEVNULL", "PIPE", "STDOUT", "CompletedProcess"]
