"""The native half of a dispatcher: a bridge slot and its record queue."""

from __future__ import annotations

from typing import Final, NamedTuple

from ._ffi import ffi, lib
from .handles import Handle, ProcessInfo, process_info

WAKE_NONE: Final = 0
WAKE_EVENTFD: Final = 1
WAKE_SOCKET: Final = 2

COMPLETION: Final = 1
EVENT: Final = 2

#: (token, kind, status, document, operation, process info)
#: status is the operation HRESULT (completion) or HCS_EVENT_TYPE (event),
#: both as signed int32 like the ABI; document is UTF-8 JSON bytes or None.
Record = tuple[int, int, int, bytes | None, Handle, ProcessInfo | None]


class QueueStats(NamedTuple):
    pushed: int
    wakes: int
    drained: int
    drains: int
    high_water: int


class GlobalStats(NamedTuple):
    orphaned: int
    docs_outstanding: int
    dispatchers_open: int


class NativeQueue:
    """One bridge dispatcher slot. Not thread-safe: owned by one event loop."""

    __slots__ = ("_out", "slot", "token_base")

    def __init__(self, wake_kind: int, wake_handle: int) -> None:
        base = ffi.new("uint64_t *")
        slot = lib.hb_dispatcher_open(wake_kind, wake_handle, base)
        if slot < 0:
            raise RuntimeError("all bridge dispatcher slots are in use (too many event loops)")
        self.slot: int = slot
        self.token_base: int = int(base[0])
        self._out = ffi.new("hb_record **")

    def drain(self) -> list[Record]:
        """Take every queued record; documents are copied out and freed."""
        count = lib.hb_dispatcher_drain(self.slot, self._out)
        if not count:
            return []
        records = self._out[0]
        result: list[Record] = []
        append = result.append
        for i in range(count):
            r = records[i]
            doc = None
            if r.doc != ffi.NULL:
                doc = ffi.unpack(r.doc, r.doc_len)
                lib.hb_free(r.doc)
            info = process_info(r.process_info) if r.has_process_info else None
            append((r.token, r.kind, r.status, doc, Handle(r.operation), info))
        return result

    def close(self) -> None:
        """Reject further records; the bridge disposes of leftovers itself."""
        if self.slot > 0:
            lib.hb_dispatcher_close(self.slot)
            self.slot = -1

    def stats(self) -> QueueStats:
        out = ffi.new("hb_stats *")
        lib.hb_dispatcher_stats(self.slot, out)
        return QueueStats(
            int(out.pushed), int(out.wakes), int(out.drained), int(out.drains), int(out.high_water)
        )


def global_stats() -> GlobalStats:
    out = ffi.new("hb_global_stats *")
    lib.hb_global_stats_get(out)
    return GlobalStats(int(out.orphaned), int(out.docs_outstanding), int(out.dispatchers_open))


def close_std_handle(handle: int) -> None:
    """Close a process pipe handle nobody will use (fd on Linux, HANDLE on Windows)."""
    import os
    import sys

    if sys.platform == "win32":
        import _winapi

        _winapi.CloseHandle(handle)
    else:
        os.close(handle)
