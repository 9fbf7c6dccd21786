"""The framed wire protocol between libhcsemu and the emulator service.

The authoritative description is ``_cffi_build/hcsemu/PROTOCOL.md``; the C
side (``_cffi_build/hcsemu/wire.h``) and this module must agree byte for
byte. Every frame is a fixed 40-byte little-endian header followed by
``nfields`` length-prefixed UTF-8 strings::

    u32 length    whole frame in bytes, header included
    u16 kind      Kind below
    u8  nfields   number of string fields (at most MAX_FIELDS)
    u8  fdmask    bit 0 stdin, bit 1 stdout, bit 2 stderr: fds riding on
                  this frame (SCM_RIGHTS, in that order); service -> client only
    u64 request   the client's request id (0 for events)
    u64 object    a handle id (client-chosen, per connection)
    u64 object2   a second handle id (the new process handle of CREATE_PROCESS ...)
    i32 code      HRESULT (REPLY), HCS_EVENT_TYPE (EVENT), operation type (requests)
    u32 arg       pid, access mask or protocol version, by kind
    fields...     each: u32 byte length, then the bytes

A frame that breaks any rule here is a protocol violation: the service
drops that client (and only that client).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

PROTOCOL_VERSION = 1
HEADER = struct.Struct("<IHBBQQQiI")
HEADER_SIZE = HEADER.size  # 40
MAX_FIELDS = 4
MAX_FRAME = 16 * 1024 * 1024 + HEADER_SIZE + MAX_FIELDS * 4
_FIELD_LEN = struct.Struct("<I")

FD_STDIN = 1
FD_STDOUT = 2
FD_STDERR = 4


class Kind(enum.IntEnum):
    # client -> service
    HELLO = 1
    CREATE_SYSTEM = 2
    OPEN_SYSTEM = 3
    CLOSE_HANDLE = 4
    SYSTEM_OP = 5
    ENUMERATE = 6
    CREATE_PROCESS = 7
    OPEN_PROCESS = 8
    PROCESS_OP = 9
    WAIT_EXIT = 10
    CANCEL = 11
    SERVICE_QUERY = 12
    SERVICE_MODIFY = 13
    SUBMIT_WER = 14
    STOP_SERVICE = 15
    # service -> client
    REPLY = 64
    EVENT = 65


CLIENT_KINDS = frozenset(k for k in Kind if k < Kind.REPLY)


class ProtocolError(Exception):
    """The peer broke the framing rules; the connection must be dropped."""


@dataclass
class Frame:
    kind: Kind
    request: int = 0
    object: int = 0
    object2: int = 0
    code: int = 0
    arg: int = 0
    fields: list[str] = field(default_factory=list)
    fdmask: int = 0

    def text(self, index: int) -> str:
        """Field ``index``, or "" when absent (NULL and L"" mean the same)."""
        return self.fields[index] if index < len(self.fields) else ""


def encode(frame: Frame) -> bytes:
    if len(frame.fields) > MAX_FIELDS:
        raise ValueError("too many fields")
    body = b"".join(
        _FIELD_LEN.pack(len(raw)) + raw for raw in (f.encode("utf-8") for f in frame.fields)
    )
    length = HEADER_SIZE + len(body)
    if length > MAX_FRAME:
        raise ValueError(f"frame of {length} bytes exceeds the {MAX_FRAME}-byte limit")
    header = HEADER.pack(
        length,
        frame.kind,
        len(frame.fields),
        frame.fdmask,
        frame.request,
        frame.object,
        frame.object2,
        frame.code,
        frame.arg,
    )
    return header + body


class FrameDecoder:
    """Incremental decoder: feed bytes, take whole frames."""

    def __init__(self, accepted: frozenset[Kind] | None = None) -> None:
        self._buffer = bytearray()
        self._accepted = accepted

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= _FIELD_LEN.size:  # the length comes first: check it early
            length = _FIELD_LEN.unpack_from(self._buffer)[0]
            if not HEADER_SIZE <= length <= MAX_FRAME:
                raise ProtocolError(f"bad frame length {length}")
            if len(self._buffer) < length:
                break
            frames.append(self._decode(bytes(self._buffer[:length])))
            del self._buffer[:length]
        return frames

    def _decode(self, raw: bytes) -> Frame:
        length, kind, nfields, fdmask, request, obj, obj2, code, arg = HEADER.unpack_from(raw)
        try:
            known = Kind(kind)
        except ValueError:
            raise ProtocolError(f"unknown frame kind {kind}") from None
        if self._accepted is not None and known not in self._accepted:
            raise ProtocolError(f"frame kind {known.name} is not accepted here")
        if nfields > MAX_FIELDS or fdmask & ~7:
            raise ProtocolError("bad field count or fd mask")
        fields = []
        offset = HEADER_SIZE
        for _ in range(nfields):
            if offset + 4 > length:
                raise ProtocolError("truncated field")
            size = _FIELD_LEN.unpack_from(raw, offset)[0]
            offset += 4
            if offset + size > length:
                raise ProtocolError("field overruns the frame")
            try:
                fields.append(raw[offset : offset + size].decode("utf-8"))
            except UnicodeDecodeError:
                raise ProtocolError("field is not UTF-8") from None
            offset += size
        if offset != length:
            raise ProtocolError("trailing bytes after the last field")
        return Frame(known, request, obj, obj2, code, arg, fields, fdmask)


def fd_count(mask: int) -> int:
    return bin(mask & 7).count("1")
