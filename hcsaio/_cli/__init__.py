"""The ``hcsaio`` command line (``python -m hcsaio``), built on the public API.

One module per command group registers its subcommands; this module parses
the arguments, picks the emulator service (``_service_choice``), runs the
command on asyncio with signal handling (``_interrupts``), and turns what
went wrong into one line and an exit status (``_errors``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import cast

from .._version import __version__
from . import _emulator, _events, _inspect, _lifecycle, _list, _run, _stats
from ._context import Context
from ._errors import EXIT_INTERRUPTED, leaf_error, report
from ._interrupts import Interrupts, exit_status_for
from ._output import Output
from ._parser import Parser, common_options, usage_error
from ._service_choice import ServiceChoice, choose_service

PROG = "hcsaio"
#: A shell's status for a command killed by SIGPIPE.
EXIT_BROKEN_PIPE = 128 + 13
AsyncHandler = Callable[[argparse.Namespace, Context], Awaitable[int]]
SyncHandler = Callable[[argparse.Namespace, Output], int]

_GROUPS = (_run, _list, _inspect, _stats, _events, _lifecycle, _emulator)


def build_parser() -> Parser:
    common = common_options()
    parser = Parser(
        prog=PROG,
        description="Look at and manage HCS compute systems (on Linux: the hcsaio emulator).",
        epilog="Exit status: the command's own for run/exec, 125 when hcsaio or HCS failed.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(
        dest="subcommand", metavar="COMMAND", required=True, parser_class=Parser
    )
    for group in _GROUPS:
        group.register(commands, [common])
    return parser


def run_cli(argv: list[str] | None = None) -> int:
    stderr = sys.stderr
    try:
        args, unknown = build_parser().parse_known_args(argv)
        take_extra = getattr(args, "take_extra", None)
        if unknown and not (take_extra and take_extra(args, unknown)):
            # name the subcommand whose options these are not
            raise usage_error(args, f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exit_:  # --help, --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except Exception as exc:
        return report(exc, stderr, prog=PROG, debug=False)
    # Not parser defaults: the option objects are shared with every subparser
    # (argparse parents), where a default would overwrite what came first.
    debug = bool(getattr(args, "debug", False))
    out = Output(color=getattr(args, "color", "auto"), prog=PROG)
    try:
        if getattr(args, "sync", False):
            return cast(SyncHandler, args.handler)(args, out)
        service = choose_service()
        return asyncio.run(_main(cast(AsyncHandler, args.handler), args, out, debug, service))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if isinstance(leaf_error(exc), BrokenPipeError):
            # `hcsaio stats --json | head -1`: the reader is done, which is no
            # failure; stop quietly as `yes | head` does.
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        return report(exc, stderr, prog=PROG, debug=debug)
    finally:
        _flush_quietly(out)


async def _main(
    handler: AsyncHandler,
    args: argparse.Namespace,
    out: Output,
    debug: bool,
    service: ServiceChoice,
) -> int:
    task = asyncio.current_task()
    assert task is not None
    interrupts = Interrupts(task)
    ctx = Context(out=out, interrupts=interrupts, debug=debug, service=service)
    with interrupts.installed():
        try:
            return await handler(args, ctx)
        except asyncio.CancelledError:
            if interrupts.signum is None:
                raise
            task.uncancel()
            return exit_status_for(interrupts.signum)


def _silence_stdout() -> None:
    """Point stdout at the null device so the interpreter's final flush of
    what is still buffered cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def _flush_quietly(out: Output) -> None:
    try:
        out.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()  # `hcsaio list | head`: the reader left, nothing to report
    except (ValueError, OSError):
        pass


__all__ = ["build_parser", "run_cli"]
