"""Writing results: aligned tables, colours on terminals only, JSON for scripts.

Colours follow the usual conventions: ``--color auto`` (the default) uses
them only when the stream is a terminal and ``NO_COLOR`` is unset;
``always``/``never`` force the choice.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TextIO

import msgspec

from ..schema import encode

ColorChoice = Literal["auto", "always", "never"]

_STYLES: Final = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "cyan": "36",
}

#: How each HCS system state is shown.
STATE_STYLES: Final = {
    "Running": "green",
    "Paused": "yellow",
    "Created": "cyan",
    "Stopped": "dim",
}


def wants_color(stream: TextIO, choice: ColorChoice) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class Cell:
    """A table cell: its text and an optional style name."""

    text: str
    style: str | None = None


@dataclass(frozen=True)
class Column:
    title: str
    align: Literal["<", ">"] = "<"


class Output:
    """Where a command writes: stdout for results, stderr for notes."""

    def __init__(
        self,
        *,
        color: ColorChoice = "auto",
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        prog: str = "hcsaio",
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.color = wants_color(self.stdout, color)
        self.color_stderr = wants_color(self.stderr, color)
        self.prog = prog

    def style(self, text: str, style: str | None, *, stderr: bool = False) -> str:
        enabled = self.color_stderr if stderr else self.color
        if not style or not enabled:
            return text
        codes = ";".join(_STYLES[s] for s in style.split("+"))
        return f"\x1b[{codes}m{text}\x1b[0m"

    def line(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def flush(self) -> None:
        self.stdout.flush()

    def note(self, text: str) -> None:
        """A remark for the person at the terminal (never part of the result)."""
        self.stderr.write(f"{self.style(self.prog + ':', 'dim', stderr=True)} {text}\n")
        self.stderr.flush()

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell | str]]) -> None:
        for text in self.render_table(columns, rows):
            self.line(text)

    def render_table(
        self, columns: Sequence[Column], rows: Sequence[Sequence[Cell | str]]
    ) -> list[str]:
        cells = [[c if isinstance(c, Cell) else Cell(c) for c in row] for row in rows]
        widths = [len(col.title) for col in columns]
        for row in cells:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell.text))
        header = [Cell(col.title, "bold") for col in columns]
        return [self._render_row(columns, widths, row) for row in [header, *cells]]

    def _render_row(self, columns: Sequence[Column], widths: list[int], row: list[Cell]) -> str:
        parts = []
        last = len(row) - 1
        for i, (column, cell) in enumerate(zip(columns, row, strict=True)):
            if column.align == ">":
                padded = cell.text.rjust(widths[i])
            elif i == last:
                padded = cell.text  # no trailing blanks
            else:
                padded = cell.text.ljust(widths[i])
            parts.append(self.style(padded, cell.style))
        return "  ".join(parts)

    # ---- JSON ---------------------------------------------------------------

    def json(self, value: Any, *, pretty: bool = True) -> None:
        """``value`` as JSON: schema structs with their wire names; pretty for
        a document, one line for streams (``pretty=False``)."""
        data = to_json_value(value)
        if pretty:
            self.line(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            self.line(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
            self.flush()


def to_json_value(value: Any) -> Any:
    """Plain JSON values, with msgspec structs (the schema types) encoded by
    their wire names and defaults omitted, exactly as HCS would send them."""
    if isinstance(value, msgspec.Struct):
        return msgspec.json.decode(encode(value))
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    return value
