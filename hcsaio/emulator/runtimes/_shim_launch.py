"""Starting hcsemu-shim processes, keeping one on standby, and the cgroup
chores nobody should wait for.

On cgroup v1 a container's processes get into its cgroups by inheriting them
from the shim, which must *migrate* there once. After an idle moment a
migration waits for an RCU grace period (cgroup_threadgroup_rwsem; 7-15 ms
measured, several times a whole container start), and it holds
cgroup_mutex meanwhile, so every cgroup mkdir, rmdir or rename on the host
waits too. Hence:

* a standby shim is started ahead of need, in a fresh cgroup it joins while
  nobody waits; a new container takes it, applies its limits (no
  cgroup_mutex), renames the cgroup after itself and sends it its options;
  only then is a replacement started, whose migration would hold up the
  rename;
* a destroyed container's empty cgroup is removed in the background.

Both run on one daemon thread, in order. cgroup v2 needs no standby: the
shim clone3()s processes straight into the cgroup, with no migration at all.

``HCSAIO_SHIM_STANDBY`` is how many standby shims each configuration keeps
(default 1; 0 disables). ``close_standby_shims()`` releases them (the
service calls it when it stops) and ``settle()`` waits for the background
removals; both run at interpreter exit too. Standby shims die with the
service anyway (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import itertools
import logging
import os
import queue
import re
import select
import signal
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..cgroups._cgroups import (
    CgroupHost,
    ContainerCgroup,
    Limits,
    V1Cgroup,
    V2Cgroup,
    create_cgroup,
)
from . import _shim_protocol as proto

__all__ = [
    "Launched",
    "StandbyPool",
    "close_standby_shims",
    "discard_later",
    "in_background",
    "launch",
    "remove_cgroup_later",
    "settle",
    "standby_pool",
    "sweep_stale_cgroups_once",
]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

CTL_FD = 3
STANDBY_ENV = "HCSAIO_SHIM_STANDBY"
_standby_counter = itertools.count(1)


@dataclass
class Launched:
    """A running shim: its pid, a pidfd, our end of its control socket, and
    the cgroup its container uses."""

    pid: int
    pidfd: int
    sock: socket.socket
    cgroup: ContainerCgroup

    def alive(self) -> bool:
        # poll, not select: a busy service holds far more than 1024 fds, and
        # select() refuses descriptors numbered above FD_SETSIZE.
        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)
        return not poller.poll(0)

    def discard(self) -> None:
        """Kill, reap and forget it (synchronous: also used at exit)."""
        self.sock.close()
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        os.close(self.pidfd)
        with contextlib.suppress(Exception):
            self.cgroup.remove_now()


def shim_environment() -> dict[str, str]:
    """Only what the shim itself reads: init is a fork of it, and its
    /proc/1/environ is readable inside the container."""
    keep = ("HCSEMU_", "ASAN_", "UBSAN_", "LSAN_")
    return {k: v for k, v in os.environ.items() if k.startswith(keep)}


def launch(shim: str, options: list[str], cgroup: ContainerCgroup) -> Launched:
    """posix_spawn the shim (a vfork: quick enough for the event loop) with a
    SOCK_SEQPACKET control socket as fd 3."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    argv = [shim, "--ppid", str(os.getpid()), "--ctl-fd", str(CTL_FD), *options]
    try:
        child_fd = theirs.fileno()
        if child_fd == CTL_FD:  # dup2(3, 3) would keep close-on-exec set
            child_fd = os.dup(child_fd)
        try:
            pid = os.posix_spawn(
                shim,
                argv,
                shim_environment(),
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, child_fd, CTL_FD),
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                ],
                # its own session: the service's terminal signals are not its
                setsid=True,
            )
        finally:
            if child_fd != theirs.fileno():
                os.close(child_fd)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return Launched(pid, os.pidfd_open(pid), ours, cgroup)


def configure(launched: Launched, options: list[str]) -> None:
    """Hand a standby shim its container's options."""
    body = b"".join(opt.encode("utf-8", "surrogateescape") + b"\0" for opt in options)
    launched.sock.send(proto.HEADER.pack(proto.MSG_CONFIGURE, 0) + body)


class StandbyPool:
    """Standby shims for one (shim, cgroup layout, parent) configuration.

    Refills run on one long-lived worker thread: creating a cgroup can wait
    for another process's migration (cgroup_mutex is held across its grace
    period), which must not stall an event loop, and the standby's
    PR_SET_PDEATHSIG is tied to the thread that spawned it, which must live
    as long as the process.
    """

    def __init__(self, shim: str, host: CgroupHost, parent: str | None, size: int) -> None:
        self.shim = shim
        self.host = host
        self.parent = parent
        self.size = size
        self._ready: deque[Launched] = deque()
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False

    def take(self) -> Launched | None:
        """A standby, if one is ready (never blocks). The caller starts the
        replacement (``refill_soon``) once done with cgroup_mutex."""
        with self._lock:
            taken = None
            while self._ready and taken is None:
                launched = self._ready.popleft()
                if launched.alive():
                    taken = launched
                else:
                    discard_later(launched)
        return taken

    def refill_soon(self) -> None:
        with self._lock:
            missing = self.size - len(self._ready) - self._pending
            if self._closed or missing <= 0:
                return
            self._pending += missing
        for _ in range(missing):
            _worker().submit(self._add_one)

    def _add_one(self) -> None:
        try:
            name = f"standby-{os.getpid()}-{next(_standby_counter)}"
            cgroup = create_cgroup(self.host, name, Limits(), parent=self.parent)
            try:
                launched = launch(self.shim, ["--standby", *cgroup.shim_args()], cgroup)
            except BaseException:
                cgroup.remove_now()
                raise
        except Exception as exc:  # only an optimisation: containers start without
            logger.warning("cannot start a standby container shim: %s", exc)
            with self._lock:
                self._pending -= 1
            return
        with self._lock:
            self._pending -= 1
            if not self._closed:
                self._ready.append(launched)
                return
        launched.discard()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            ready, self._ready = self._ready, deque()
        for launched in ready:
            launched.discard()


class _Worker:
    """One daemon thread running standby chores in order. It is never
    stopped: the shims it spawned (the containers among them) die with the
    thread that spawned them."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def call(self, job: Callable[[], _T]) -> concurrent.futures.Future[_T]:
        """Run ``job`` after the chores already queued; its result."""
        result: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def run() -> None:
            if result.set_running_or_notify_cancel():
                try:
                    result.set_result(job())
                except BaseException as exc:
                    result.set_exception(exc)

        self.submit(run)
        return result

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="hcsaio-standby", daemon=True
                )
                self._thread.start()
        self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception:
                logger.exception("standby shim chore failed")

    def drain(self, timeout: float = 30.0) -> None:
        """Wait for the chores submitted so far."""
        if self._thread is None:
            return
        done = threading.Event()
        self.submit(done.set)
        done.wait(timeout)

    def forget_after_fork(self) -> None:
        self._thread = None
        self._queue = queue.SimpleQueue()


_the_worker = _Worker()
os.register_at_fork(after_in_child=_the_worker.forget_after_fork)


def _worker() -> _Worker:
    return _the_worker


_pools: dict[tuple[str, str, str | None], StandbyPool] = {}


def _configured_size() -> int:
    try:
        return max(0, int(os.environ.get(STANDBY_ENV, "1")))
    except ValueError:
        return 1


_STALE_NAME = re.compile(r"-(\d+)-\d+$")  # <id>-<service pid>-<n>, standby-<pid>-<n>
_swept: set[tuple[str, str | None]] = set()


def sweep_stale_cgroups_once(host: CgroupHost, parent: str | None) -> None:
    """Once per layout, in the background: remove the cgroups a service
    that died without cleaning up left in our parent directories (thawed
    first: frozen leftovers cannot die)."""
    key = (repr(host), parent)
    if key in _swept:
        return
    _swept.add(key)
    _the_worker.submit(lambda: _sweep(host, parent))


def _sweep(host: CgroupHost, parent: str | None) -> None:
    probe: ContainerCgroup = (
        V1Cgroup(host, "probe", parent) if host.version == 1 else V2Cgroup(host, "probe", parent)
    )
    for directory in {os.path.dirname(path) for path in probe.paths}:
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            continue
        for name in names:
            match = _STALE_NAME.search(name)
            if match is None or _pid_alive(int(match.group(1))):
                continue
            path = os.path.join(directory, name)
            if not os.path.isdir(path):
                continue
            for control, thawed in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
                with contextlib.suppress(OSError), open(os.path.join(path, control), "w") as f:
                    f.write(thawed)
            with contextlib.suppress(OSError):
                os.rmdir(path)  # EBUSY while leftovers are still dying: next time


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def standby_pool(shim: str, host: CgroupHost, parent: str | None) -> StandbyPool | None:
    """The pool for this configuration, or None where standbys do not help."""
    size = _configured_size()
    if host.version != 1 or size == 0:
        return None
    key = (shim, repr(host), parent)
    pool = _pools.get(key)
    if pool is None:
        pool = _pools[key] = StandbyPool(shim, host, parent, size)
    return pool


def in_background(job: Callable[[], _T]) -> concurrent.futures.Future[_T]:
    """Run a cgroup chore on the background thread, after those queued
    (so a later discard of the same shim sees its outcome)."""
    return _the_worker.call(job)


def discard_later(launched: Launched) -> None:
    """Kill, reap and remove a shim on the background thread."""
    _the_worker.submit(launched.discard)


def remove_cgroup_later(cgroup: ContainerCgroup) -> None:
    """rmdir an emptied cgroup on the background thread (it may have to wait
    for another container's migration)."""

    def remove() -> None:
        try:
            cgroup.remove_now(timeout=10.0)
        except Exception as exc:
            logger.warning("cannot remove cgroup %s: %s", cgroup.paths, exc)

    _the_worker.submit(remove)


def settle(timeout: float = 30.0) -> None:
    """Wait for the background work submitted so far (cgroup removals,
    refills)."""
    _the_worker.drain(timeout)


def close_standby_shims() -> None:
    """Kill every standby shim and remove its cgroup. Background work in
    flight is waited for (a refill finishing now sees its pool closed and
    discards what it made), so nothing is left behind. Running containers
    are not affected."""
    while _pools:
        _, pool = _pools.popitem()
        pool.close()
    _the_worker.drain()


atexit.register(close_standby_shims)
