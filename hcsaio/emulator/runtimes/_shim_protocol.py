"""The runtime <-> hcsemu-shim control protocol (mirror of
``_cffi_build/shim/shim.h``; a test compares the constants).

One message per SOCK_SEQPACKET datagram: a ``(type, seq)`` header, a fixed
body, and for some types variable data. Integers are native: both peers run
on the same host.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# requests: runtime -> shim
MSG_SPAWN = 1
MSG_SIGNAL = 2
MSG_SIGNAL_ALL = 3
MSG_KILL = 4
MSG_CONFIGURE = 5
MSG_OPEN_PTY = 6
# replies and events: shim -> runtime
MSG_READY = 100
MSG_SETUP_ERROR = 101
MSG_SPAWNED = 102
MSG_EXITED = 103
MSG_IDLE = 104
MSG_DEAD = 105
MSG_JOINED = 106
MSG_PTY = 107

SPAWN_TTY = 0x1
SPAWN_STDIN = 0x2
SPAWN_STDOUT = 0x4
SPAWN_STDERR = 0x8
SPAWN_WINSIZE = 0x10

STAGE_NONE = 0
STAGE_REQUEST = 1
STAGE_FORK = 2
STAGE_CGROUP = 3
STAGE_STDIO = 4
STAGE_TTY = 5
STAGE_USER = 6
STAGE_CWD = 7
STAGE_EXEC = 8
STAGE_VANISHED = 9

MAX_MSG = 1 << 20

HEADER = struct.Struct("=II")
SPAWN_REQ = struct.Struct("=IHHII")  # flags, rows, cols, argc, envc
SIGNAL_REQ = struct.Struct("=ii")  # host pid, signal
READY = struct.Struct("=i")  # init's host pid
SPAWNED = struct.Struct("=iiii")  # errno, stage, pid, host pid
EXITED = struct.Struct("=ii")  # host pid, wait status
DEAD = struct.Struct("=i")  # init's wait status
ERRNO = struct.Struct("=i")


class ProtocolError(RuntimeError):
    """The shim sent something this runtime does not understand."""


@dataclass(frozen=True)
class Ready:
    init_host_pid: int


@dataclass(frozen=True)
class SetupError:
    errno: int
    message: str


@dataclass(frozen=True)
class Spawned:
    seq: int
    errno: int
    stage: int
    pid: int
    host_pid: int


@dataclass(frozen=True)
class Exited:
    host_pid: int
    status: int


@dataclass(frozen=True)
class Idle:
    seq: int


@dataclass(frozen=True)
class Dead:
    init_status: int


@dataclass(frozen=True)
class Joined:
    pass


@dataclass(frozen=True)
class Pty:
    """The answer to OPEN_PTY: on success (errno 0) the master and the slave
    came with it as SCM_RIGHTS."""

    seq: int
    errno: int


Event = Ready | SetupError | Spawned | Exited | Idle | Dead | Joined | Pty


def _cstr(value: str, what: str) -> bytes:
    data = value.encode("utf-8", "surrogateescape")
    if b"\0" in data:
        raise ValueError(f"{what} contains a NUL character: {value!r}")
    return data + b"\0"


def encode_spawn(
    seq: int,
    *,
    argv: tuple[str, ...],
    env: dict[str, str],
    cwd: str | None,
    user: str | None,
    flags: int,
    console_size: tuple[int, int] | None,
) -> bytes:
    """A SPAWN request; the caller attaches the stdio fds named by ``flags``."""
    if not argv:
        raise ValueError("empty command line")
    rows, cols = console_size or (0, 0)
    if console_size is not None:
        if not (0 <= rows <= 0xFFFF and 0 <= cols <= 0xFFFF):
            raise ValueError(f"console size out of range: {console_size!r}")
        flags |= SPAWN_WINSIZE
    parts = [_cstr(user or "", "user"), _cstr(cwd or "", "working directory")]
    parts += [_cstr(arg, "argument") for arg in argv]
    for key, value in env.items():
        if not key or "=" in key:
            raise ValueError(f"bad environment variable name: {key!r}")
        parts.append(_cstr(f"{key}={value}", "environment"))
    msg = b"".join(
        [
            HEADER.pack(MSG_SPAWN, seq),
            SPAWN_REQ.pack(flags, rows, cols, len(argv), len(env)),
            *parts,
        ]
    )
    if len(msg) > MAX_MSG:
        raise ValueError("command line and environment are too large")
    return msg


def encode_signal(seq: int, host_pid: int, signum: int) -> bytes:
    return HEADER.pack(MSG_SIGNAL, seq) + SIGNAL_REQ.pack(host_pid, signum)


def encode_signal_all(seq: int, signum: int) -> bytes:
    return HEADER.pack(MSG_SIGNAL_ALL, seq) + SIGNAL_REQ.pack(0, signum)


def encode_kill(seq: int) -> bytes:
    return HEADER.pack(MSG_KILL, seq)


def encode_open_pty(seq: int) -> bytes:
    return HEADER.pack(MSG_OPEN_PTY, seq)


def decode(msg: bytes) -> Event:
    if len(msg) < HEADER.size:
        raise ProtocolError(f"short message from the shim: {msg!r}")
    kind, seq = HEADER.unpack_from(msg)
    body = msg[HEADER.size :]
    try:
        if kind == MSG_READY:
            return Ready(*READY.unpack_from(body))
        if kind == MSG_SETUP_ERROR:
            (err,) = ERRNO.unpack_from(body)
            return SetupError(err, body[ERRNO.size :].decode("utf-8", "replace"))
        if kind == MSG_SPAWNED:
            return Spawned(seq, *SPAWNED.unpack_from(body))
        if kind == MSG_EXITED:
            return Exited(*EXITED.unpack_from(body))
        if kind == MSG_IDLE:
            return Idle(seq)
        if kind == MSG_DEAD:
            return Dead(*DEAD.unpack_from(body))
        if kind == MSG_JOINED:
            return Joined()
        if kind == MSG_PTY:
            return Pty(seq, *ERRNO.unpack_from(body))
    except struct.error as exc:
        raise ProtocolError(f"malformed message {kind} from the shim: {exc}") from exc
    raise ProtocolError(f"unknown message type {kind} from the shim")
