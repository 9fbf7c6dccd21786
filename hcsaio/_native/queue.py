"""The native half of a dispatcher: a bridge slot and its record queue.

Records cross into Python in bulk: ``hb_dispatcher_drain`` hands back a
contiguous array of ``hb_record`` and one ``struct.iter_unpack`` turns it
into tuples, instead of one cffi attribute access per field per record (the
per-record cost is what bounds dispatch throughput). Most records are bare
completions (start, shutdown, signal ...): for a batch of those only the
token, kind, status and operation are unpacked. When the bridge reports
that some records of the batch carry a document or process information,
the whole batch is unpacked field by field and each document is copied and
freed at once, so nothing the bridge allocated outlives the drain.

A record is ``(token, kind, status, operation[, document, process_info])``;
``status`` is the operation's HRESULT or the event type (int32, as in the
ABI); use :func:`document` and :func:`process_info` to read the optional
parts.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

from ._ffi import ffi, lib
from .handles import Handle, ProcessInfo, std_handle

WAKE_NONE: Final = 0
WAKE_EVENTFD: Final = 1
WAKE_SOCKET: Final = 2

COMPLETION: Final = 1
EVENT: Final = 2

#: Token bits below the dispatcher slot: the sequence number.
SEQUENCE_BITS: Final[int] = int(lib.HB_TOKEN_SEQ_BITS)

# hb_record, field by field, in native layout:
#   token Q, kind I, status i, doc P, doc_len N, operation P,
#   ProcessId I, Reserved I, StdInput P, StdOutput P, StdError P,
#   has_process_info i, reserved i
_FULL_CODES: Final = "QIiPNPIIPPPii"
_FULL: Final = struct.Struct("@" + _FULL_CODES)
_FIELDS: Final = (
    "token", "kind", "status", "doc", "doc_len", "operation",
    "process_info.ProcessId", "process_info.Reserved", "process_info.StdInput",
    "process_info.StdOutput", "process_info.StdError", "has_process_info", "reserved",
)  # fmt: skip
# The same record, reading only token, kind, status and operation.
_BARE: Final = struct.Struct("@QIi16xP40x")

TOKEN: Final = 0
KIND: Final = 1
STATUS: Final = 2
OPERATION: Final = 3

#: A drained record (see the module docstring).
Record = tuple[Any, ...]


def _check_layout() -> None:
    """The struct formats must describe hb_record exactly, or every record
    would be misread: checked once, at import, field by field."""
    size = ffi.sizeof("hb_record")
    if _FULL.size != size or _BARE.size != size:
        raise ImportError(
            f"hb_record is {size} bytes; the unpackers expect {_FULL.size}/{_BARE.size}"
        )
    offset = 0
    for code, name in zip(_FULL_CODES, _FIELDS, strict=True):
        width = struct.calcsize("@" + code)
        offset = (offset + width - 1) // width * width  # natural alignment
        if ffi.offsetof("hb_record", *name.split(".")) != offset:
            raise ImportError(f"hb_record.{name} is not at offset {offset}")
        offset += width
    if struct.calcsize("@QIi16x") != ffi.offsetof("hb_record", "operation"):
        raise ImportError("the bare unpacker does not find hb_record.operation")


_check_layout()


def _with_payload(raw: tuple[Any, ...]) -> Record:
    """A fully unpacked record: copy out and free its document, keep the
    pipe handles as ints."""
    token, kind, status, doc_pointer, doc_len, op, pid, _, stdin, stdout, stderr, has_info, _ = raw
    doc: bytes | None = None
    if doc_pointer:
        pointer = ffi.cast("char *", doc_pointer)
        doc = ffi.unpack(pointer, doc_len)
        lib.hb_free(pointer)
    info = None
    if has_info:
        info = ProcessInfo(pid, std_handle(stdin), std_handle(stdout), std_handle(stderr))
    return (token, kind, status, op, doc, info)


def document(record: Record) -> bytes | None:
    return record[4] if len(record) > 4 else None


def process_info(record: Record) -> ProcessInfo | None:
    """The process pid and pipe handles a completion carried, if any."""
    return record[5] if len(record) > 5 else None


def operation(record: Record) -> Handle:
    return Handle(ffi.cast("HCS_OPERATION", record[OPERATION]))


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

    def drain(self) -> tuple[int, Iterable[Record]]:
        """Take every queued record: (how many, the records). Documents are
        copied out and freed before this returns; the records of a bare
        batch are unpacked as they are iterated, which must happen before
        the next drain (the dispatcher does it at once)."""
        count = lib.hb_dispatcher_drain(self.slot, self._out)
        if not count:
            return 0, ()
        data = ffi.buffer(self._out[0], count * _FULL.size)
        if not lib.hb_dispatcher_payloads(self.slot):
            return count, _BARE.iter_unpack(data)
        return count, [_with_payload(raw) for raw in _FULL.iter_unpack(data)]

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


def reserve_sequences(count: int) -> int:
    """The first of ``count`` token sequences nobody else in the process
    ever gets (the bridge's counter only grows, so a late completion for a
    closed dispatcher can never match a token of the loop that reused its
    slot)."""
    first = int(lib.hb_sequence_reserve(count))
    if first == 0:
        raise RuntimeError(
            f"hcsaio has used up the 2**{SEQUENCE_BITS} operation tokens of this process"
        )
    return first


def global_stats() -> GlobalStats:
    out = ffi.new("hb_global_stats *")
    lib.hb_global_stats_get(out)
    return GlobalStats(int(out.orphaned), int(out.docs_outstanding), int(out.dispatchers_open))


def close_std_handle(handle: int) -> None:
    """Close a process pipe handle nobody will use (fd on Linux, HANDLE on Windows)."""
    if sys.platform == "win32":
        import _winapi

        _winapi.CloseHandle(handle)
    else:
        os.close(handle)
