"""A small blocking client of the wire protocol, for the command line
(``status``, ``stop``) and for the launcher's health checks. hcsaio itself
talks to the service through libhcsemu, never through this module."""

from __future__ import annotations

import json
import socket
from types import TracebackType
from typing import cast

from ._protocol import PROTOCOL_VERSION, Frame, FrameDecoder, Kind, encode


class ServiceUnavailable(Exception):
    """No service answers on the socket."""


class ServiceClient:
    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._decoder = FrameDecoder(frozenset({Kind.REPLY, Kind.EVENT}))
        self._pending: list[Frame] = []
        self._next_request = 1
        try:
            self._sock.connect(path)
            hello = self.request(Frame(Kind.HELLO, arg=PROTOCOL_VERSION))
        except OSError as err:
            self._sock.close()
            raise ServiceUnavailable(f"{path}: {err}") from err
        if hello.code != 0:
            self._sock.close()
            raise ServiceUnavailable(f"{path}: HELLO refused with 0x{hello.code & 0xFFFFFFFF:08X}")
        self.hello = cast(dict[str, object], json.loads(hello.text(0)))

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def _receive(self) -> Frame:
        while not self._pending:
            data = self._sock.recv(65536)
            if not data:
                raise ServiceUnavailable("the service closed the connection")
            self._pending.extend(self._decoder.feed(data))
        return self._pending.pop(0)

    def request(self, frame: Frame) -> Frame:
        """Send ``frame`` with a fresh request id; return its REPLY (events
        arriving meanwhile are skipped)."""
        frame.request = self._next_request
        self._next_request += 1
        self._sock.sendall(encode(frame))
        while True:
            reply = self._receive()
            if reply.kind == Kind.REPLY and reply.request == frame.request:
                return reply

    def status(self) -> dict[str, object]:
        query = json.dumps({"PropertyTypes": ["EmulatorStatus"]})
        reply = self.request(Frame(Kind.SERVICE_QUERY, fields=[query]))
        if reply.code != 0:
            raise ServiceUnavailable(f"status refused with 0x{reply.code & 0xFFFFFFFF:08X}")
        properties = json.loads(reply.text(0))["Properties"]
        return cast(dict[str, object], properties[0])

    def stop(self) -> None:
        """Ask the service to stop and wait until it has closed the connection."""
        self.request(Frame(Kind.STOP_SERVICE))
        try:
            while True:
                self._receive()
        except ServiceUnavailable:
            return
