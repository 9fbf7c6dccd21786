"""The standard streams of a new process: pipes, or a pty for a console.

The child's ends go to the runtime (which dups them into place); the
client's ends travel to libhcsemu over SCM_RIGHTS and the service closes
its copies once they are sent, so the client owns them exactly as a
Windows caller owns the pipe handles of HCS_PROCESS_INFORMATION.

With ``EmulateConsole`` the child gets a pty slave as stdin, stdout and
stderr; the client's stdin is the pty master and its stdout a dup of it
(stderr is merged, as with ConPTY). The pty comes from the runtime
(``Runtime.open_console``: a container's process must find its terminal in
its own /dev/pts). The service keeps the master itself, the *console*, for
ConsoleSize requests until the process exits or the client asks
``CloseHandle``.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
from dataclasses import dataclass, field

from ..compute._documents import ProcessRequest
from ._runtime import Stdio


def set_console_size(fd: int, height: int, width: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def _close(fds: list[int | None]) -> None:
    for fd in fds:
        if fd is not None:
            os.close(fd)


@dataclass
class StdioPlan:
    child: Stdio
    client: list[int | None]  # stdin, stdout, stderr for the caller
    console: int | None = None  # the service's pty master
    _child_fds: list[int] = field(default_factory=list)

    def close_child_ends(self) -> None:
        _close(list(self._child_fds))
        self._child_fds.clear()

    def close_client_ends(self) -> None:
        _close(self.client)
        self.client = [None, None, None]

    def close_all(self) -> None:
        self.close_child_ends()
        self.close_client_ends()
        _close([self.console])
        self.console = None


def make_stdio(request: ProcessRequest, console: tuple[int, int] | None = None) -> StdioPlan:
    """The plan for ``request``; with ``EmulateConsole``, ``console`` is the
    runtime's ``(master, slave)`` pty, which the plan owns from here on."""
    if request.spec.tty:
        if console is None:
            raise ValueError("EmulateConsole needs a pty from the runtime")
        master, slave = console
        plan = StdioPlan(Stdio(slave, slave, slave), [None, None, None], master, [slave])
        try:
            if request.spec.console_size:
                set_console_size(master, *request.spec.console_size)
            if request.stdin:
                plan.client[0] = os.dup(master)  # non-inheritable
            if request.stdout:
                plan.client[1] = os.dup(master)
        except BaseException:
            plan.close_all()
            raise
        return plan
    child: list[int | None] = [None, None, None]
    client: list[int | None] = [None, None, None]
    for index, wanted in enumerate((request.stdin, request.stdout, request.stderr)):
        if wanted:
            read_end, write_end = os.pipe()  # both non-inheritable (O_CLOEXEC)
            if index == 0:
                child[0], client[0] = read_end, write_end
            else:
                child[index], client[index] = write_end, read_end
    return StdioPlan(
        Stdio(child[0], child[1], child[2]), client, None, [fd for fd in child if fd is not None]
    )
