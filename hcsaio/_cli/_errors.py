"""How failures become one line on stderr and an exit status.

Exit statuses follow container runtimes (docker, podman): 125 when hcsaio
or HCS failed (including usage errors: argparse's own 2 would be mistaken
for a command's exit code), 126 when the command exists but cannot be
run, 127 when it does not exist, otherwise the command's own code.
"""

from __future__ import annotations

import traceback
from typing import Final, TextIO

from .. import errors

#: hcsaio (or HCS, or the command line) failed.
EXIT_FAILURE: Final = 125
#: The command was found but could not be started.
EXIT_CANNOT_RUN: Final = 126
#: The command was not found.
EXIT_NOT_FOUND: Final = 127
#: A shell's code for "interrupted by SIGINT".
EXIT_INTERRUPTED: Final = 130


class CliError(Exception):
    """A failure hcsaio explains itself (no traceback needed)."""

    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class UsageError(CliError):
    """Bad flags or arguments; ``hint`` names the help to read."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def leaf_error(exc: BaseException) -> BaseException:
    """The error to report from an ExceptionGroup (task groups wrap what
    their tasks raise, nested ones twice): an HCS error if there is one,
    then one hcsaio explains itself, else the first."""
    leaves = _leaves(exc)
    for kind in (errors.HcsError, CliError):
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    return leaves[0]


def describe_hcs_error(exc: errors.HcsError) -> str:
    """``SystemNotFound 0x8037010E: <HCS's message> (HcsOpenComputeSystem 'web')``"""
    if isinstance(exc, errors.HcsTimeoutError) and exc.waited is not None:
        message = str(exc)  # says what was waited for, and for how long
    else:
        message = exc.message
    target = [exc.operation]
    if exc.id is not None:
        target.append(repr(exc.id))
    if exc.pid is not None:
        target.append(f"pid {exc.pid}")
    return f"{type(exc).__name__} 0x{exc.hresult:08X}: {_one_line(message)} ({' '.join(target)})"


def describe(exc: BaseException) -> str:
    exc = leaf_error(exc)
    if isinstance(exc, errors.HcsError):
        return describe_hcs_error(exc)
    if isinstance(exc, CliError):
        return _one_line(exc.message)
    if isinstance(exc, ValueError | TypeError):
        return f"invalid argument: {_one_line(str(exc))}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or _one_line(str(exc))}{where}"
    return f"internal error: {type(exc).__name__}: {_one_line(str(exc))}"


def status_for(exc: BaseException) -> int:
    exc = leaf_error(exc)
    if isinstance(exc, CliError):
        return exc.status
    if isinstance(exc, errors.HcsError) and exc.operation == "HcsCreateProcess":
        # The command, not hcsaio, is the problem: say so as docker does.
        if isinstance(exc, errors.FileNotFound):
            return EXIT_NOT_FOUND
        if isinstance(exc, errors.AccessDenied):
            return EXIT_CANNOT_RUN
    return EXIT_FAILURE


def report(exc: BaseException, stream: TextIO, *, prog: str, debug: bool) -> int:
    """Write the error line (and with ``debug`` the HCS error events and the
    traceback) and return the exit status."""
    leaf = leaf_error(exc)
    if isinstance(leaf, UsageError):  # the message names the (sub)command itself
        stream.write(f"{describe(leaf)}\n")
        if leaf.hint:
            stream.write(f"{leaf.hint}\n")
    else:
        stream.write(f"{prog}: {describe(leaf)}\n")
    if debug:
        if isinstance(leaf, errors.HcsError):
            for event in leaf.error_events:
                origin = "/".join(p for p in (event.provider, event.source) if p) or "HCS"
                stream.write(f"  error event [{origin}] {_one_line(event.message)}\n")
                if event.stack_trace:
                    stream.write(f"    {_one_line(event.stack_trace)}\n")
        stream.write("".join(traceback.format_exception(exc)))
    elif not isinstance(leaf, errors.HcsError | CliError | ValueError | TypeError | OSError):
        stream.write(f"{prog}: rerun with --debug for a traceback\n")
    stream.flush()
    return status_for(leaf)
