"""``hcsaio pause|resume|shutdown|terminate ID...`` and ``hcsaio kill ID [PID]``.

Each prints the id it acted on (the pid for a process signal), so the
output can feed another command. Several ids are handled concurrently; one
failing does not stop the others, and the exit status is 125 if any did.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

from .. import Container, open_compute_system
from ._context import QUERY_TIMEOUT, Context
from ._errors import EXIT_FAILURE, report
from ._parser import Parser, add_command, add_timeout, usage_error
from ._query import bounded_map
from ._scratch import remove_scratches, scratches_of
from ._signals import SIGKILL, parse_signal

#: Default --timeout per operation: shutdown waits for processes to end.
DEFAULT_TIMEOUTS: Final = {"pause": 30.0, "resume": 30.0, "shutdown": 60.0, "terminate": 60.0}
HELP: Final = {
    "pause": "pause compute systems (freeze their processes)",
    "resume": "resume paused compute systems",
    "shutdown": "shut compute systems down gracefully and wait until they have stopped",
    "terminate": "stop compute systems at once and wait until they have stopped",
}
WAIT_WORDS: Final = {"shutdown": "to shut down", "terminate": "to stop"}
#: Operations after which the scratch ``run`` made is no longer used.
STOPPING: Final = frozenset(WAIT_WORDS)


def register(commands: argparse._SubParsersAction[Parser], parents: list[Parser]) -> None:
    for name, text in HELP.items():
        parser = add_command(commands, name, help=text, handler=lifecycle_command, parents=parents)
        parser.add_argument("ids", nargs="+", metavar="ID")
        add_timeout(parser, DEFAULT_TIMEOUTS[name], "how long to wait for each system")
        parser.set_defaults(operation=name)

    kill = add_command(
        commands,
        "kill",
        help="terminate a compute system, or signal one of its processes",
        description="Without PID: terminate the compute system (like `hcsaio terminate`).\n"
        "With PID: send the process --signal (default KILL: HcsTerminateProcess).",
        handler=kill_command,
        parents=parents,
    )
    kill.add_argument("id", metavar="ID")
    kill.add_argument("pid", nargs="?", type=int, metavar="PID")
    kill.add_argument(
        "-s",
        "--signal",
        metavar="S",
        help="a number, a name (TERM, SIGINT, usr1 ...) or CtrlC/CtrlBreak/CtrlClose/"
        "CtrlLogOff/CtrlShutdown (default: KILL)",
    )
    add_timeout(kill, 30.0, "how long to wait for HCS (and, for KILL, for the exit)")
    kill.set_defaults(take_extra=_pid_after_options)


def _pid_after_options(args: argparse.Namespace, extra: list[str]) -> bool:
    """argparse gives up on ``kill ID --signal S PID`` (it fills the optional
    PID when it meets ID); take the PID from what it left over."""
    if args.pid is None and len(extra) == 1 and extra[0].isdigit():
        args.pid = int(extra[0])
        return True
    return False


def _operation(name: str, timeout: float) -> Callable[[Container], Awaitable[None]]:
    async def act(container: Container) -> None:
        method: Callable[..., Awaitable[None]] = getattr(container, name)
        await method(timeout=timeout)

    return act


async def lifecycle_command(args: argparse.Namespace, ctx: Context) -> int:
    ctx.note_private_service()
    act = _operation(args.operation, args.timeout)
    waiting = WAIT_WORDS.get(args.operation)

    async def one(system_id: str) -> BaseException | None:
        scratches = scratches_of(system_id) if args.operation in STOPPING else []
        try:
            async with await open_compute_system(system_id, timeout=QUERY_TIMEOUT) as container:
                await act(container)
        except Exception as exc:
            return exc
        remove_scratches(scratches)
        ctx.out.line(system_id)
        ctx.out.flush()
        return None

    what = args.ids[0] if len(args.ids) == 1 else f"{len(args.ids)} systems"
    with ctx.progress(f"waiting for {what} {waiting}") if waiting else contextlib.nullcontext():
        failures = [e for e in await bounded_map(args.ids, one) if e is not None]
    for failure in failures:
        report(failure, ctx.out.stderr, prog=ctx.out.prog, debug=ctx.debug)
    return EXIT_FAILURE if failures else 0


async def kill_command(args: argparse.Namespace, ctx: Context) -> int:
    ctx.note_private_service()
    if args.pid is None:
        if args.signal is not None:
            raise usage_error(args, "a compute system takes no signal: give a PID, or no --signal")
        scratches = scratches_of(args.id)
        async with await open_compute_system(args.id, timeout=QUERY_TIMEOUT) as container:
            with ctx.progress(f"waiting for {args.id} to stop"):
                await container.terminate(timeout=args.timeout)
        remove_scratches(scratches)
        ctx.out.line(args.id)
        return 0
    try:
        signal = parse_signal(args.signal) if args.signal is not None else SIGKILL
    except ValueError as exc:
        raise usage_error(args, str(exc)) from None
    async with (
        await open_compute_system(args.id, timeout=QUERY_TIMEOUT) as container,
        await container.open_process(args.pid, timeout=QUERY_TIMEOUT) as process,
    ):
        if signal == SIGKILL:
            # HcsTerminateProcess; its outcome is the exit, so wait for that.
            process.kill()
            await process.wait(timeout=args.timeout)
        else:
            await process.signal(signal, timeout=args.timeout)
    ctx.out.line(str(args.pid))
    return 0
