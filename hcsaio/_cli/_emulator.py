"""``hcsaio emulator serve|status|stop|make-base-layer``: ``python -m
hcsaio.emulator``, with the command line's defaults.

The arguments go to the emulator's own parser untouched, except that

* ``serve``, ``status`` and ``stop`` without ``--socket`` use
  ``$HCSAIO_EMULATOR_SOCKET``, else the well-known socket the other
  ``hcsaio`` commands look for (``_service_choice``);
* ``make-base-layer`` without DIR builds the layer ``hcsaio run`` uses.
"""

from __future__ import annotations

import argparse
import os
from typing import Final

from ._errors import EXIT_FAILURE
from ._output import Output
from ._parser import Parser, as_help_text
from ._progress import Progress
from ._scratch import remove_service_tree
from ._service_choice import ENV_SOCKET, default_socket

SOCKET_COMMANDS: Final = ("serve", "status", "stop")


def register(commands: argparse._SubParsersAction[Parser], parents: list[Parser]) -> None:
    parser = commands.add_parser(
        "emulator",
        help="the HCS emulator service: serve, status, stop, make-base-layer",
        description=as_help_text(__doc__ or ""),
        add_help=False,  # --help belongs to the emulator's parser
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("emulator_argv", nargs=argparse.REMAINDER, metavar="ARGS")
    parser.set_defaults(
        handler=emulator_command, sync=True, command_prog=parser.prog, take_extra=_options_first
    )


def _options_first(args: argparse.Namespace, extra: list[str]) -> bool:
    """A REMAINDER does not take options before the first word (``hcsaio
    emulator --help``): hand those to the emulator's parser too."""
    args.emulator_argv = [*extra, *args.emulator_argv]
    return True


def _has_option(argv: list[str], option: str) -> bool:
    return any(a == option or a.startswith(option + "=") for a in argv)


def with_defaults(argv: list[str]) -> list[str]:
    if not argv:
        return argv
    command, rest = argv[0], argv[1:]
    wants_help = _has_option(rest, "--help") or _has_option(rest, "-h")
    if command in SOCKET_COMMANDS and not _has_option(rest, "--socket") and not wants_help:
        return [command, "--socket", os.environ.get(ENV_SOCKET) or default_socket(), *rest]
    if (
        command == "make-base-layer"
        and not wants_help
        and not any(not a.startswith("-") for a in rest)
    ):
        from ._image import base_layer_dir

        return [command, *rest, str(base_layer_dir())]
    return argv


def _socket_of(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg.startswith("--socket="):
            return arg.split("=", 1)[1]
        if arg == "--socket" and i + 1 < len(argv):
            return argv[i + 1]
    raise ValueError("no --socket")  # with_defaults always adds one


def emulator_command(args: argparse.Namespace, out: Output) -> int:
    from ..emulator.__main__ import main as emulator_main

    argv = with_defaults(list(args.emulator_argv))
    try:
        if argv and argv[0] == "serve" and "--socket" not in args.emulator_argv:
            socket = _socket_of(argv)
            out.note(f"serving on {socket}; other hcsaio commands use it while it runs")
        if argv and argv[0] == "make-base-layer" and len(argv) > 1:
            with Progress(f"building the base layer in {argv[-1]}", out.stderr, prog=out.prog):
                return emulator_main(argv)
        code = emulator_main(argv)
        if argv and argv[0] in ("serve", "stop") and code == 0:
            # The service is gone and its containers with it: so is their scratch.
            remove_service_tree(_socket_of(argv))
        return code
    except SystemExit as exit_:  # the emulator's argparse: --help, or a usage error
        if exit_.code in (0, None):
            return 0
        return EXIT_FAILURE if exit_.code == 2 else int(exit_.code or 0)
