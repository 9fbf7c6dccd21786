"""``python -m hcsaio.emulator``: serve, status, stop, make-base-layer."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys

from .wire._client import ServiceClient, ServiceUnavailable

LOG_LEVELS = ("debug", "info", "warning", "error")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hcsaio.emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the emulator service")
    serve.add_argument("--socket", required=True, help="Unix socket path (in a 0700 directory)")
    serve.add_argument("--mode", choices=("auto", "host"), default="auto")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="warning")
    # Used by hcsaio's launcher (not for people): exit when this fd reads EOF,
    # and write "ready" to that fd once the socket accepts.
    serve.add_argument("--lifeline-fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)

    for name, text in (("status", "print the service's status"), ("stop", "stop the service")):
        command = commands.add_parser(name, help=text)
        command.add_argument(
            "--socket",
            default=os.environ.get("HCSAIO_EMULATOR_SOCKET"),
            help="defaults to $HCSAIO_EMULATOR_SOCKET",
        )

    layer = commands.add_parser("make-base-layer", help="build a minimal base layer in DIR")
    layer.add_argument("dir")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from ._service import EmulatorService
    from .runtimes._signals import stop_passing_on_ignored_signals
    from .wire._listen import SocketSetupError

    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format=f"hcsemu[{os.getpid()}] %(levelname)s: %(message)s",
    )
    stop_passing_on_ignored_signals()
    service = EmulatorService(
        args.socket, args.mode, lifeline_fd=args.lifeline_fd, ready_fd=args.ready_fd
    )
    try:
        asyncio.run(service.run())
    except SocketSetupError as err:
        print(f"hcsemu: {err}", file=sys.stderr)
        return 2
    return 0


def _status(args: argparse.Namespace) -> int:
    if not args.socket:
        print("hcsemu: no --socket and HCSAIO_EMULATOR_SOCKET is unset", file=sys.stderr)
        return 2
    try:
        with ServiceClient(args.socket) as client:
            status = client.status()
    except ServiceUnavailable as err:
        print(f"hcsemu: not running: {err}", file=sys.stderr)
        return 1
    print(json.dumps(status, indent=2))
    return 0


def _stop(args: argparse.Namespace) -> int:
    if not args.socket:
        print("hcsemu: no --socket and HCSAIO_EMULATOR_SOCKET is unset", file=sys.stderr)
        return 2
    try:
        with ServiceClient(args.socket) as client:
            client.stop()
    except ServiceUnavailable as err:
        print(f"hcsemu: not running: {err}", file=sys.stderr)
        return 1
    return 0


def _make_base_layer(args: argparse.Namespace) -> int:
    # The base-layer builder belongs to the namespace runtime; import it
    # only when asked, so the other commands work without it.
    try:
        module = importlib.import_module("hcsaio.emulator.runtimes._baselayer")
    except ModuleNotFoundError as err:
        print(f"hcsemu: the base-layer builder is not installed: {err}", file=sys.stderr)
        return 2
    module.make_base_layer(args.dir)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {
        "serve": _serve,
        "status": _status,
        "stop": _stop,
        "make-base-layer": _make_base_layer,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
