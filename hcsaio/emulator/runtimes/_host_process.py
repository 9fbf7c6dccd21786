"""One process the host runtime started (the SpawnedProcess of _runtime).

The process is its own session and process-group leader. Its exit is
observed through a pidfd and read with ``waitid(WNOWAIT)``, which leaves
the zombie in place: as long as the leader is unreaped its pid, and
therefore its process-group id, cannot be reused, so signalling the group
later can never hit an unrelated process. The runtime reaps the leader
once nothing else is left in its group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

from ._pidfd import wait_readable


def _exit_code(info: os.waitid_result) -> int:
    if info.si_code == os.CLD_EXITED:
        return int(info.si_status)
    return 128 + int(info.si_status)  # killed or dumped: 128 + signal


class HostProcess:
    def __init__(self, pid: int, pidfd: int, on_exit: Callable[[HostProcess], None]) -> None:
        self._pid = pid
        self._on_exit = on_exit
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._watch = asyncio.create_task(self._watch_exit(pidfd))

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def host_pid(self) -> int:
        return self._pid

    @property
    def exited(self) -> bool:
        return self._exit.done()

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    def signal(self, signum: int) -> None:
        """Signal the process group; nothing once the leader has exited
        (the group may still hold orphans, but they are the system's
        business, not this process's)."""
        if self._exit.done():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._pid, signum)

    async def _watch_exit(self, pidfd: int) -> None:
        try:
            while True:
                # WNOHANG: a poll, not a blocking wait; the pidfd does the waiting.
                info = os.waitid(  # noqa: ASYNC222
                    os.P_PID, self._pid, os.WEXITED | os.WNOHANG | os.WNOWAIT
                )
                if info is not None and info.si_pid == self._pid:
                    break
                await wait_readable(pidfd)
        except ChildProcessError:
            info = None  # reaped behind our back: the status is lost
        finally:
            os.close(pidfd)
        self._exit.set_result(255 if info is None else _exit_code(info))
        self._on_exit(self)
