"""argparse, adjusted for a container runtime's conventions.

* A usage error is one line plus where to find help, and exit status 125
  (argparse's 2 could be confused with the command's own exit code).
* ``--debug`` and ``--color`` work before or after the subcommand: every
  subparser has them with ``SUPPRESS`` defaults, so a subparser never
  overwrites what was given before the subcommand.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ._errors import UsageError


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", hint=f"See '{self.prog} --help'.")


def usage_error(args: argparse.Namespace, message: str) -> UsageError:
    """A usage error found after parsing, named after the subcommand."""
    prog = getattr(args, "command_prog", "hcsaio")
    return UsageError(f"{prog}: {message}", hint=f"See '{prog} --help'.")


def common_options() -> Parser:
    common = Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="on failure, also show HCS's error events and a traceback",
    )
    common.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default=argparse.SUPPRESS,
        help="colours in human output (default: auto, i.e. on terminals unless NO_COLOR is set)",
    )
    return common


def add_command(
    commands: argparse._SubParsersAction[Parser],
    name: str,
    *,
    help: str,
    description: str | None = None,
    handler: Callable[..., Any],
    parents: Sequence[Parser],
    **kwargs: Any,
) -> Parser:
    parser = commands.add_parser(
        name,
        help=help,
        description=as_help_text(description or help),
        parents=list(parents),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )
    parser.set_defaults(handler=handler, command_prog=parser.prog)
    return parser


def as_help_text(doc: str) -> str:
    """A module docstring as --help text: without reStructuredText's ``quotes``."""
    return doc.replace("``", "")


def add_json(parser: argparse.ArgumentParser, what: str = "JSON for scripts") -> None:
    parser.add_argument("--json", action="store_true", help=what)


def add_timeout(parser: argparse.ArgumentParser, default: float | None, what: str) -> None:
    shown = "none" if default is None else f"{default:g}"
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=default,
        metavar="S",
        help=f"{what} (seconds; default {shown})",
    )


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def command_argv(args: argparse.Namespace, values: list[str]) -> list[str]:
    """The CMD [ARG...] after ``--`` (argparse keeps the ``--`` in a
    REMAINDER)."""
    argv = list(values)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise usage_error(args, "a command is required: ... -- CMD [ARG...]")
    return argv
