"""``hcsaio run`` and ``hcsaio exec``: a command in a container, stdio attached.

HCS containers do not stop when a process in them exits, so without
``--rm`` the container ``run`` created keeps running (with a shared
emulator service, ``hcsaio exec``, ``ps``, ``shutdown`` ... reach it
later); with ``--rm`` it is terminated and its temporary scratch removed
however ``run`` ends: the command's exit, an error, Ctrl-C, SIGTERM. The
document of an ``--rm`` container also sets ShouldTerminateOnLastHandleClosed,
so even a ``kill -9`` of hcsaio does not leave it running.
"""

from __future__ import annotations

import argparse
import os
import uuid
from typing import Final

from .. import PIPE, Container, create_compute_system, open_compute_system
from ._attach import AttachMode, attach
from ._context import QUERY_TIMEOUT, Context
from ._errors import CliError
from ._image import Image, build_image, parse_env
from ._parser import Parser, add_command, command_argv, positive_int, seconds, usage_error
from ._service_choice import PRIVATE_SERVICE_NOTE
from ._terminal import window_size

#: Creating and starting a container (mounting layers, starting its init).
START_TIMEOUT: Final = 120.0
#: Tearing down an ``--rm`` container.
TEARDOWN_TIMEOUT: Final = 60.0
#: timeout(1)'s status for "the command ran out of time".
EXIT_TIMED_OUT: Final = 124


def _process_options(parser: Parser) -> None:
    parser.add_argument("-i", "--interactive", action="store_true", help="connect stdin")
    parser.add_argument(
        "-t",
        "--tty",
        action="store_true",
        help="give the process a console (a pty): raw terminal with -i, window size follows",
    )
    parser.add_argument(
        "-d", "--detach", action="store_true", help="start the command and return at once"
    )
    parser.add_argument(
        "-e",
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="set an environment variable",
    )
    parser.add_argument("-w", "--workdir", metavar="DIR", help="working directory in the container")
    parser.add_argument("-u", "--user", metavar="USER", help="user to run as (name or uid[:gid])")


def register(commands: argparse._SubParsersAction[Parser], parents: list[Parser]) -> None:
    run = add_command(
        commands,
        "run",
        help="create and start a container, run a command in it",
        description=__doc__ or "",
        handler=run_command,
        parents=parents,
    )
    run.add_argument("--name", metavar="ID", help="the container's id (default: random)")
    run.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="DIR",
        help="read-only layer folder, topmost first (default: the emulator's base layer as "
        "root, else the host)",
    )
    run.add_argument("--scratch", metavar="DIR", help="writable scratch (default: a temporary dir)")
    run.add_argument(
        "--host",
        action="store_true",
        help="no layers: run the command on the host in its own session",
    )
    run.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="HOST:CONTAINER[:ro]",
        help="map a host directory into the container",
    )
    run.add_argument("--memory", type=positive_int, metavar="MB", help="memory limit in MB")
    run.add_argument("--cpus", type=positive_int, metavar="N", help="processor count limit")
    run.add_argument("--hostname", metavar="H", help="the container's host name")
    run.add_argument(
        "--owner", default="hcsaio", help="the Owner recorded by HCS (default: hcsaio)"
    )
    run.add_argument(
        "--rm", action="store_true", help="terminate the container when the command ends"
    )
    run.add_argument(
        "--timeout",
        type=seconds,
        metavar="S",
        help=f"kill the command after S seconds (exit status {EXIT_TIMED_OUT})",
    )
    _process_options(run)
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARG...]")

    exec_ = add_command(
        commands,
        "exec",
        help="run a command in a running container",
        handler=exec_command,
        parents=parents,
    )
    _process_options(exec_)
    exec_.add_argument("id", metavar="ID")
    exec_.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARG...]")


def _check_modes(args: argparse.Namespace) -> None:
    if args.detach and (args.interactive or args.tty):
        raise usage_error(args, "-d cannot be combined with -i or -t")


async def run_command(args: argparse.Namespace, ctx: Context) -> int:
    argv = command_argv(args, args.command)
    _check_modes(args)
    if args.detach and args.rm:
        raise usage_error(args, "-d cannot be combined with --rm")
    if args.detach and ctx.service == "private":
        raise CliError(f"run -d needs a service that outlives hcsaio: {PRIVATE_SERVICE_NOTE}")
    if ctx.service == "private":
        args.rm = True  # the service and its containers end with us: leave no scratch behind
    args.name = args.name or uuid.uuid4().hex[:12]
    image = await build_image(args, ctx)
    started = False
    try:
        with ctx.progress(f"creating container {args.name}"):
            container = await create_compute_system(
                args.name, image.document, timeout=START_TIMEOUT
            )
        try:
            with ctx.progress(f"starting container {args.name}"):
                await container.start(timeout=START_TIMEOUT)
            started = True
            code = await _run_in(container, argv, args, ctx, timeout=args.timeout)
        finally:
            with ctx.interrupts.deferred():
                if args.rm or not started:
                    await _teardown(container, ctx)
                await container.close()
    finally:
        if args.rm or not started:
            image.remove_temporary()
    if args.detach:
        ctx.out.line(args.name)
    elif not args.rm and ctx.service != "private" and ctx.out.stderr.isatty():
        ctx.out.note(f"container {args.name} keeps running; `hcsaio shutdown {args.name}` stops it")
    return code


async def _teardown(container: Container, ctx: Context) -> None:
    with ctx.progress(f"removing container {container.id}"):
        await container.terminate(timeout=TEARDOWN_TIMEOUT)


async def exec_command(args: argparse.Namespace, ctx: Context) -> int:
    argv = command_argv(args, args.command)
    _check_modes(args)
    async with await open_compute_system(args.id, timeout=QUERY_TIMEOUT) as container:
        return await _run_in(container, argv, args, ctx, timeout=None, report_pid=True)


async def _run_in(
    container: Container,
    argv: list[str],
    args: argparse.Namespace,
    ctx: Context,
    *,
    timeout: float | None,
    report_pid: bool = False,
) -> int:
    env = parse_env(args, args.env)
    if args.tty:
        env.setdefault("TERM", os.environ.get("TERM", "xterm"))
    process = await container.exec(
        *argv,
        stdin=PIPE if args.interactive else None,
        stdout=None if args.detach else PIPE,
        stderr=None if args.detach or args.tty else PIPE,
        env=env or None,
        cwd=args.workdir,
        user=args.user,
        tty=args.tty,
        console_size=window_size() if args.tty else None,
        timeout=QUERY_TIMEOUT,
    )
    async with process:
        if args.detach:
            if report_pid:
                ctx.out.line(str(process.pid))
            return 0
        mode = AttachMode(tty=args.tty, interactive=args.interactive)
        code = await attach(process, mode, ctx.interrupts, ctx.out, timeout=timeout)
    if code is None:
        assert timeout is not None
        raise CliError(
            f"{argv[0]} timed out after {timeout:g}s and was killed", status=EXIT_TIMED_OUT
        )
    return exit_status(code, argv, ctx)


def exit_status(code: int, argv: list[str], ctx: Context) -> int:
    """A shell only sees 8 bits: keep a failure a failure (Windows exit
    codes such as 0xC000013A would otherwise wrap to anything)."""
    if 0 <= code <= 255:
        return code
    if code < 0:
        raise CliError(f"HCS could not report the exit code of {argv[0]}")
    if ctx.debug:
        ctx.out.note(f"{argv[0]} exited with code {code} (0x{code:08X}); reporting 255")
    return 255


__all__ = ["Image", "register"]
