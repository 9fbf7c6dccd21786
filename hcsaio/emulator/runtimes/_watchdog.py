"""Host-mode processes must not outlive a service that is killed outright.

The namespace runtime needs no help (its containers die with their shim,
which dies with the service), but a host-mode process is its own session:
if the service is SIGKILLed nobody would stop it. The watchdog is a tiny
child forked before the service starts anything else; the service tells
it, through a pipe, which process groups exist. When the pipe reads EOF
(the service is gone, however it died) the watchdog SIGKILLs the groups
still listed and exits. A group is listed only while its leader's zombie
pins the group id, so the kill cannot hit a group id reused by someone
else. On a normal exit the service closes the pipe and reaps it.
"""

from __future__ import annotations

import contextlib
import os
import signal


class Watchdog:
    def __init__(self, pid: int, write_end: int) -> None:
        self.pid = pid
        self._write_end = write_end

    def guard(self, pgid: int) -> None:
        self._send(f"+{pgid}\n")

    def release(self, pgid: int) -> None:
        self._send(f"-{pgid}\n")

    def _send(self, line: str) -> None:
        with contextlib.suppress(OSError):  # a dead watchdog: nothing left to do
            os.write(self._write_end, line.encode())

    def close(self) -> None:
        """Normal exit: every group is already gone; the watchdog exits too."""
        global _current
        with contextlib.suppress(OSError):
            os.close(self._write_end)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        _current = None


_current: Watchdog | None = None


def current() -> Watchdog | None:
    return _current


def start() -> Watchdog:
    """Fork the watchdog. Call before any thread exists: the child only
    reads a pipe and exits, but fork must not copy a lock held elsewhere."""
    global _current
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(write_end)
        _watch(read_end)
    os.close(read_end)
    _current = Watchdog(pid, write_end)
    return _current


def _watch(read_end: int) -> None:
    """The watchdog's whole life (never returns)."""
    try:
        # Hold nothing of the service's: no copy of a pipe may keep its
        # reader waiting for an EOF (the launcher's ready pipe, a captured
        # stderr), and no terminal.
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, read_end)
        os.closerange(read_end + 1, os.sysconf("SC_OPEN_MAX"))
        os.setsid()  # out of the service's terminal and process group
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        groups: set[int] = set()
        pending = b""
        while True:
            data = os.read(read_end, 65536)
            if not data:
                break
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                pgid = int(line[1:])
                if line.startswith(b"+"):
                    groups.add(pgid)
                else:
                    groups.discard(pgid)
        for pgid in groups:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
    finally:
        os._exit(0)
