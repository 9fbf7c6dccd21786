"""Waiting for processes with pidfds on the event loop: no thread per child.

asyncio's default child watcher on Python 3.11 spends a thread per child,
which does not scale to a thousand processes; a pidfd is an fd that
becomes readable when its process exits, so any number of exits are
watched by the one selector.
"""

from __future__ import annotations

import asyncio
import os


async def wait_readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def open_pidfd(pid: int) -> int | None:
    """A pidfd for ``pid``, or None if it is already gone."""
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


async def wait_pid_gone(pidfd: int) -> None:
    """Wait until the process behind ``pidfd`` has exited (any process,
    not only our children). Closes the pidfd."""
    try:
        await wait_readable(pidfd)
    finally:
        os.close(pidfd)
