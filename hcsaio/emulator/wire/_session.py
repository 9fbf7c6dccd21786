"""One connected libhcsemu client: framed I/O with fd passing.

asyncio streams cannot carry SCM_RIGHTS, so the session drives its
non-blocking socket itself: the reader awaits ``sock_recv`` and hands
whole frames to the dispatcher; the writer keeps an ordered queue of
(bytes, fds) and sends the fds with the first byte of their frame.

A client that breaks the protocol, or lets more than ``MAX_BACKLOG`` bytes
of replies and events pile up unread, is dropped; nothing it does can
stop the service or another client.
"""

from __future__ import annotations

import array
import asyncio
import collections
import contextlib
import logging
import os
import socket
import struct
from dataclasses import dataclass
from typing import Protocol

from ..compute._handles import HandleRef
from ._protocol import CLIENT_KINDS, Frame, FrameDecoder, Kind, ProtocolError, encode
from ._requests import RequestContext

log = logging.getLogger("hcsaio.emulator")

MAX_BACKLOG = 256 * 1024 * 1024
RECV_SIZE = 256 * 1024


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int


class Dispatcher(Protocol):
    def dispatch(self, session: Session, frame: Frame) -> None: ...

    def session_closed(self, session: Session) -> None: ...


class Session:
    def __init__(self, sock: socket.socket, peer: Peer, dispatcher: Dispatcher) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.peer = peer
        self.handles: dict[int, HandleRef] = {}
        self.requests: dict[int, RequestContext] = {}
        self.waits: set[int] = set()  # requests that only wait: cancelled on close
        self.greeted = False
        self.closed = False
        self._reserved: set[int] = set()  # ids of handles being opened
        self._dispatcher = dispatcher
        self._loop = asyncio.get_running_loop()
        self._out: collections.deque[tuple[memoryview, list[int]]] = collections.deque()
        self._backlog = 0
        self._writing = False
        self._reader: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<client pid={self.peer.pid} uid={self.peer.uid}>"

    # ---- ids ----

    def claim_handle_id(self, handle_id: int) -> None:
        """A new handle id must not name an open (or opening) handle. (The
        client allocates ids in order but its threads send in any order, so
        uniqueness is the rule, not monotony.) The id stays reserved until
        ``bind``/``unreserve``."""
        if handle_id == 0 or handle_id in self.handles or handle_id in self._reserved:
            raise ProtocolError(f"handle id {handle_id} is already in use")
        self._reserved.add(handle_id)

    def unreserve(self, handle_id: int) -> None:
        self._reserved.discard(handle_id)

    # ---- reading ----

    async def serve(self) -> None:
        """Read and dispatch frames until EOF, an error or ``close()``.

        The socket stays registered with the event loop for the session's
        life and frames are dispatched straight from the readiness
        callback: no reader (un)registration and no task wake-up per
        frame (``sock_recv`` costs both)."""
        self._reader = asyncio.current_task()
        decoder = FrameDecoder(CLIENT_KINDS)
        ended: asyncio.Future[None] = self._loop.create_future()

        def on_readable() -> None:
            # One recv per callback, as sock_recv did: a client that floods
            # its socket gets a turn per loop iteration, not the whole loop.
            if self.closed or ended.done():
                return
            try:
                try:
                    data = self.sock.recv(RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    return
                if not data:
                    ended.set_result(None)
                    return
                for frame in decoder.feed(data):
                    self._dispatcher.dispatch(self, frame)
            except Exception as err:
                if not ended.done():
                    ended.set_exception(err)

        self._loop.add_reader(self.sock, on_readable)
        try:
            await ended
        except ProtocolError as err:
            log.warning("dropping %r: protocol error: %s", self, err)
        except (ConnectionError, OSError) as err:
            log.info("%r disconnected: %s", self, err)
        finally:
            self._loop.remove_reader(self.sock)
            self._reader = None
            self.close()

    # ---- writing ----

    def send(self, frame: Frame, fds: list[int] | None = None) -> None:
        """Queue ``frame``; ownership of ``fds`` passes to the session,
        which closes them once sent (or dropped)."""
        owned = list(fds or [])
        if self.closed:
            _close_all(owned)
            return
        data = memoryview(encode(frame))
        self._out.append((data, owned))
        self._backlog += len(data)
        if self._backlog > MAX_BACKLOG:
            log.warning("dropping %r: %d bytes unread", self, self._backlog)
            self.close()
            return
        if not self._writing:
            self._flush()

    def send_event(self, handle_id: int, event_type: int, data: str | None) -> None:
        fields = [data] if data is not None else []
        self.send(Frame(Kind.EVENT, object=handle_id, code=event_type, fields=fields))

    def _flush(self) -> None:
        while self._out and not self.closed:
            data, fds = self._out[0]
            try:
                if fds:
                    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
                    sent = self.sock.sendmsg([data], ancillary)
                    _close_all(fds)  # the kernel holds its own references now
                    fds.clear()
                else:
                    sent = self.sock.send(data)
            except BlockingIOError:
                self._want_write(True)
                return
            except OSError as err:
                log.info("%r: send failed: %s", self, err)
                self.close()
                return
            self._backlog -= sent
            if sent < len(data):
                self._out[0] = (data[sent:], fds)
                self._want_write(True)
                return
            self._out.popleft()
        self._want_write(False)

    def _want_write(self, wanted: bool) -> None:
        if wanted and not self._writing:
            self._loop.add_writer(self.sock, self._flush)
        elif not wanted and self._writing:
            self._loop.remove_writer(self.sock)
        self._writing = wanted

    # ---- closing ----

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._want_write(False)
        for _, fds in self._out:
            _close_all(fds)
        self._out.clear()
        for request_id in list(self.waits):
            context = self.requests.get(request_id)
            if context is not None:
                context.cancel()
        reader = self._reader
        if reader is not None and reader is not asyncio.current_task():
            # The reader owns the socket until it unwinds; it calls close() again.
            reader.add_done_callback(lambda _: self._close_socket())
            reader.cancel()
        else:
            self._close_socket()
        self._dispatcher.session_closed(self)

    def _close_socket(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def peer_credentials(sock: socket.socket) -> Peer:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return Peer(pid, uid, gid)
