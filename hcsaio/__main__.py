"""``hcsaio`` / ``python -m hcsaio``: look at and manage HCS compute systems.

``hcsaio --help`` lists the commands; the implementation lives in
``hcsaio._cli`` and uses only hcsaio's public API.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and
    return the exit status."""
    from ._cli import run_cli

    return run_cli(argv)


if __name__ == "__main__":
    sys.exit(main())
