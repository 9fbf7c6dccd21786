"""HostRuntime: a process-isolated compute system without privileges.

Processes run on the host filesystem, each in its own session and process
group (like a Windows "job container"). The compute system's processes are
the members of those groups; shutdown and terminate signal the groups.
Not applied in this mode (documented in PROTOCOL.md): storage layers,
mapped directories, hostname, memory and CPU limits; a process that
starts its own session (a daemon) leaves the system's reach. The service's
watchdog (``_watchdog``) kills the groups if the service itself is killed.

The service is a child subreaper (see _service), so orphans of a group are
re-parented to it; ``sweep`` reaps them and, once a group is empty, its
leader's zombie, whose pid guards the group id against reuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import weakref
from datetime import UTC, datetime

from ..compute._procinfo import process_list, rfc3339
from . import _procfs as procfs
from . import _watchdog
from ._host_process import HostProcess
from ._host_spawn import spawn
from ._pidfd import open_pidfd, wait_pid_gone
from ._runtime import ContainerSpec, ProcessSpec, RuntimeMode, Stdio

SWEEP_DELAY = 0.05  # coalesce the /proc scans of a burst of exits
PAUSE_SETTLE = 5.0
PAUSE_POLL = 0.002

_lingering: weakref.WeakSet[HostRuntime] = weakref.WeakSet()


def sweep_lingering() -> None:
    """Reap orphans of every host runtime whose group leaders have exited
    while other members lived on (the service calls this on SIGCHLD)."""
    for runtime in list(_lingering):
        runtime.schedule_sweep()


def _rfc3339(seconds: float) -> str:
    return rfc3339(datetime.fromtimestamp(seconds, UTC))


class HostRuntime:
    mode = RuntimeMode.HOST

    def __init__(self, spec: ContainerSpec) -> None:
        self._spec = spec
        self._leaders: dict[int, HostProcess] = {}  # pgid -> leader
        self._started_at: float | None = None
        self._reaped_cpu = [0, 0]  # user, kernel (100 ns) of reaped members
        self._commit_peak = 0
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        self._started_at = time.time()

    async def spawn(self, spec: ProcessSpec, stdio: Stdio) -> HostProcess:
        popen = spawn(spec, stdio)
        popen.returncode = 0  # we reap it ourselves; keep Popen.__del__ away from it
        pidfd = open_pidfd(popen.pid)
        if pidfd is None:  # impossible for an unreaped child, but never leak it
            raise RuntimeError(f"pidfd_open({popen.pid}) failed")
        leader = HostProcess(popen.pid, pidfd, self._leader_exited)
        self._leaders[popen.pid] = leader
        watchdog = _watchdog.current()
        if watchdog is not None:
            watchdog.guard(popen.pid)  # killed even if the service is
        return leader

    async def open_console(self) -> tuple[int, int]:
        # the processes see the host's /dev/pts: a pty of it is theirs
        return os.openpty()

    async def wait_stopped(self) -> None:
        """Return once ``stop`` or ``destroy`` has finished: a host system
        has no init, so it never dies on its own."""
        await self._stopped.wait()

    def _leader_exited(self, leader: HostProcess) -> None:
        self.schedule_sweep()

    def schedule_sweep(self) -> None:
        if self._sweep_handle is None:
            loop = asyncio.get_running_loop()
            self._sweep_handle = loop.call_later(SWEEP_DELAY, self._scheduled_sweep)

    def _scheduled_sweep(self) -> None:
        self._sweep_handle = None
        self.sweep()

    def sweep(self) -> list[procfs.ProcStat]:
        """One /proc scan: reap what can be reaped, return live members."""
        members = procfs.group_members(frozenset(self._leaders))
        me = os.getpid()
        live = [m for m in members if m.alive]
        busy = {m.pgrp for m in live}
        zombies = {m.pid: m for m in members if not m.alive and m.ppid == me}
        for pid, zombie in zombies.items():
            if pid not in self._leaders:
                self._reap(pid, zombie)  # an orphan re-parented to the service
        for pgid, leader in list(self._leaders.items()):
            # A leader's zombie guards its group id until the group is empty.
            if leader.exited and pgid not in busy:
                watchdog = _watchdog.current()
                if watchdog is not None:
                    watchdog.release(pgid)  # before the reap frees the id
                self._reap(pgid, zombies.get(pgid))
                del self._leaders[pgid]
        if any(self._leaders[pgid].exited for pgid in busy if pgid in self._leaders):
            _lingering.add(self)
        else:
            _lingering.discard(self)
        return live

    def _reap(self, pid: int, zombie: procfs.ProcStat | None) -> None:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid and zombie is not None:
                user, kernel = zombie.cpu_100ns
                self._reaped_cpu[0] += user
                self._reaped_cpu[1] += kernel

    def _signal_all(self, signum: int) -> None:
        # Every pgid in _leaders is guarded by its unreaped leader.
        for pgid in self._leaders:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signum)

    async def pause(self) -> None:
        self._signal_all(signal.SIGSTOP)
        # SIGSTOP takes effect when each task next runs; Pause completes once
        # it has. Nothing notifies a stop of a process that is not our child,
        # so look. A task stuck in the kernel (state D) may take longer: after
        # PAUSE_SETTLE seconds it counts as paused.
        for _ in range(int(PAUSE_SETTLE / PAUSE_POLL)):
            if all(m.state in "TtZX" for m in self.sweep()):
                break
            await asyncio.sleep(PAUSE_POLL)

    async def resume(self) -> None:
        self._signal_all(signal.SIGCONT)

    async def stop(self, *, grace: float | None) -> None:
        if grace:
            self._signal_all(signal.SIGTERM)
            self._signal_all(signal.SIGCONT)  # a paused system must run to handle SIGTERM
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_empty(kill=False), grace)
        await self._wait_empty(kill=True)
        self._stopped.set()

    async def _wait_empty(self, *, kill: bool) -> None:
        while True:
            if kill:
                self._signal_all(signal.SIGKILL)
            live = self.sweep()
            if not live:
                # Leaders whose exit is still being read keep their group.
                pending = [p for p in self._leaders.values() if not p.exited]
                if not pending:
                    return
                await asyncio.gather(*(p.wait() for p in pending))
                continue
            await asyncio.gather(*(wait_pid_gone(fd) for fd in self._pidfds(live)))

    def _pidfds(self, live: list[procfs.ProcStat]) -> list[int]:
        fds = []
        for member in live:
            pidfd = open_pidfd(member.pid)
            if pidfd is None:
                continue
            # The pid may have been reused between the scan and the open.
            again = procfs.read_stat(member.pid)
            if again is not None and again.alive and again.pgrp in self._leaders:
                fds.append(pidfd)
            else:
                os.close(pidfd)
        return fds

    async def destroy(self) -> None:
        if self._leaders:
            await self.stop(grace=None)
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
            self._sweep_handle = None
        _lingering.discard(self)
        self._stopped.set()

    async def statistics(self) -> dict[str, object]:
        live = self.sweep()
        now = time.time()
        user, kernel = self._reaped_cpu
        private = commit = 0
        for member in live:
            member_user, member_kernel = member.cpu_100ns
            user, kernel = user + member_user, kernel + member_kernel
            memory = procfs.read_memory(member.pid)
            private += memory.private
            commit += memory.commit
        self._commit_peak = max(self._commit_peak, commit)
        started = self._started_at or now
        return {
            "Timestamp": _rfc3339(now),
            "ContainerStartTime": _rfc3339(started),
            "Uptime100ns": int((now - started) * 10_000_000),
            "Processor": {
                "TotalRuntime100ns": user + kernel,
                "RuntimeUser100ns": user,
                "RuntimeKernel100ns": kernel,
            },
            "Memory": {
                "MemoryUsageCommitBytes": commit,
                "MemoryUsageCommitPeakBytes": self._commit_peak,
                "MemoryUsagePrivateWorkingSetBytes": private,
            },
        }

    async def process_list(self) -> list[dict[str, object]]:
        return process_list(member.pid for member in self.sweep())


async def create_host_runtime(spec: ContainerSpec) -> HostRuntime:
    return HostRuntime(spec)
