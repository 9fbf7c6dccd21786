"""Numbers for people: sizes, durations, times."""

from __future__ import annotations

import datetime
from typing import Final

_UNITS: Final = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
#: HCS counts time in 100 ns units.
TICKS_PER_SECOND: Final = 10_000_000


def size(n: int) -> str:
    """``0 B``, ``512 B``, ``1.5 KiB``, ``23.4 MiB``, ``512 MiB`` (binary units;
    one decimal while it carries information)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    unit = 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return f"{text} {_UNITS[unit]}"


def duration(seconds: float) -> str:
    """Two significant units: ``0s``, ``42s``, ``3m12s``, ``2h05m``, ``3d04h``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def cpu_time(seconds: float) -> str:
    """CPU time keeps sub-second precision while it is small."""
    if seconds < 60:
        return f"{seconds:.2f}s"
    return duration(seconds)


def ticks_to_seconds(ticks: int) -> float:
    return ticks / TICKS_PER_SECOND


def age(moment: datetime.datetime | None, now: datetime.datetime | None = None) -> str:
    """How long ago ``moment`` was, or ``-`` if unknown."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    now = now or datetime.datetime.now(datetime.UTC)
    return duration((now - moment).total_seconds())


def timestamp(moment: datetime.datetime) -> str:
    """Local time with its offset, to the millisecond (sortable, unambiguous)."""
    return moment.astimezone().isoformat(timespec="milliseconds")


def percent(part: float, whole: float) -> str:
    if whole <= 0:
        return "-"
    return f"{100.0 * part / whole:.1f}%"
