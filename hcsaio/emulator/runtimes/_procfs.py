"""Reading /proc for the host runtime: process-group membership, CPU time
and memory of the members.

The host runtime has no cgroup to ask, so "the processes of a compute
system" are the members of the process groups it created, found by
scanning /proc. (``_procinfo`` formats ProcessDetails entries; the memory
figures here follow its mapping of Windows terms.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

_TICKS_TO_100NS = 10_000_000 // os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    ppid: int
    pgrp: int
    utime: int  # clock ticks
    stime: int

    @property
    def alive(self) -> bool:
        """Zombies and dead tasks have exited; only their entry remains."""
        return self.state not in ("Z", "X")

    @property
    def cpu_100ns(self) -> tuple[int, int]:
        """(user, kernel) time in 100 ns units."""
        return self.utime * _TICKS_TO_100NS, self.stime * _TICKS_TO_100NS


def read_stat(pid: int) -> ProcStat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    # comm may contain spaces and parentheses: it ends at the last ')'.
    rest = raw[raw.rfind(")") + 2 :].split()
    if len(rest) < 13:
        return None
    return ProcStat(
        pid=pid,
        state=rest[0],
        ppid=int(rest[1]),
        pgrp=int(rest[2]),
        utime=int(rest[11]),
        stime=int(rest[12]),
    )


def group_members(pgids: frozenset[int]) -> list[ProcStat]:
    """Every process (zombies included) whose process group is in ``pgids``."""
    if not pgids:
        return []
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = read_stat(int(name))
            if stat is not None and stat.pgrp in pgids:
                found.append(stat)
    return found


@dataclass(frozen=True)
class ProcMemory:
    private: int  # RssAnon: private resident memory
    commit: int  # VmData + VmStk: private writable address space


def read_memory(pid: int) -> ProcMemory:
    kib: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("RssAnon", "VmData", "VmStk"):
                    kib[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return ProcMemory(
        private=kib.get("RssAnon", 0) * 1024,
        commit=(kib.get("VmData", 0) + kib.get("VmStk", 0)) * 1024,
    )
