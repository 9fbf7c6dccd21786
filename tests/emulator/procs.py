"""Looking at processes through /proc, for the tests' checks."""

from __future__ import annotations

import os
from pathlib import Path


def stat_fields(pid: int | str) -> list[str] | None:
    """/proc/PID/stat after the command name (state is [0], ppid [1],
    pgrp [2]), or None if there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return None


def proc_state(pid: int) -> str | None:
    fields = stat_fields(pid)
    return fields[0] if fields else None


def alive(pid: int) -> bool:
    """Running or sleeping: not gone, not a zombie."""
    return proc_state(pid) not in (None, "Z", "X")


def _all() -> list[tuple[int, list[str]]]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        fields = stat_fields(entry)
        if fields is not None:
            found.append((int(entry), fields))
    return found


def group_members(pgid: int) -> list[int]:
    """The live members of process group ``pgid``."""
    return [pid for pid, f in _all() if int(f[2]) == pgid and f[0] not in "ZX"]


def zombie_children(parent: int) -> list[int]:
    return [pid for pid, f in _all() if int(f[1]) == parent and f[0] == "Z"]
