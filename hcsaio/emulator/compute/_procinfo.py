"""HCS ``ProcessDetails`` from /proc, and the time formats HCS documents use.

Memory mapping (Windows terms on the left):

* ``MemoryCommitBytes`` = VmData + VmStk: the private writable address space,
  what Linux charges against overcommit, the nearest thing to commit;
* ``MemoryWorkingSetPrivateBytes`` = RssAnon: private resident memory;
* ``MemoryWorkingSetSharedBytes`` = RssFile + RssShmem.

Times are in 100 ns units (HCS's), converted from clock ticks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime

_TICKS = os.sysconf("SC_CLK_TCK")
_HUNDRED_NS_PER_TICK = 10_000_000 // _TICKS


def rfc3339(moment: datetime) -> str:
    """Go's time.Time JSON form (what hcsshim decodes), always in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def boot_time() -> float:
    """Wall-clock time of boot; /proc's start times count from it."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def _status_fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def _kib(fields: dict[str, str], key: str) -> int:
    value = fields.get(key, "0 kB").split()
    return int(value[0]) * 1024 if value else 0


def process_details(
    host_pid: int, booted: float, image_name: str | None = None
) -> dict[str, object] | None:
    """One ``ProcessDetails`` entry, or None when the process is gone."""
    base = f"/proc/{host_pid}"
    try:
        with open(f"{base}/stat") as f:
            stat = f.read()
        with open(f"{base}/status") as f:
            status = _status_fields(f.read())
    except (FileNotFoundError, ProcessLookupError):
        return None
    # the command name may contain spaces and parentheses: split after the last ')'
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    rest = stat[stat.rindex(")") + 2 :].split()
    utime, stime, starttime = int(rest[11]), int(rest[12]), int(rest[19])
    image = image_name
    if image is None:
        try:
            image = os.path.basename(os.readlink(f"{base}/exe")) or comm
        except OSError:  # zombies and kernel threads have no executable
            image = comm
    nspid = status.get("NSpid", str(host_pid)).split()
    return {
        "ProcessId": int(nspid[-1]),
        "ImageName": image,
        "CreateTimestamp": rfc3339(datetime.fromtimestamp(booted + starttime / _TICKS, UTC)),
        "UserTime100ns": utime * _HUNDRED_NS_PER_TICK,
        "KernelTime100ns": stime * _HUNDRED_NS_PER_TICK,
        "MemoryCommitBytes": _kib(status, "VmData") + _kib(status, "VmStk"),
        "MemoryWorkingSetPrivateBytes": _kib(status, "RssAnon"),
        "MemoryWorkingSetSharedBytes": _kib(status, "RssFile") + _kib(status, "RssShmem"),
    }


def process_list(
    host_pids: Iterable[int], image_names: dict[int, str] | None = None
) -> list[dict[str, object]]:
    """Entries for the processes still there, by ProcessId; ``image_names``
    overrides the executable's name (init is a fork of the shim binary)."""
    booted = boot_time()
    names = image_names or {}
    found = (process_details(pid, booted, names.get(pid)) for pid in host_pids)
    entries = [entry for entry in found if entry is not None]
    entries.sort(key=lambda e: int(str(e["ProcessId"])))
    return entries
