"""``NamespaceRuntime``: a compute system as a real Linux container.

The runtime creates the container's cgroup, then starts one ``hcsemu-shim``
(C, ``_cffi_build/shim``; or takes a standby one, see
``_shim_launch``) that enters new mount/uts/ipc/pid namespaces, mounts the
overlay root and mapped directories, forks the container's init and answers
requests over a SOCK_SEQPACKET socket (protocol: ``_shim_protocol``). No
Python runs inside the container.

Every container process is a child of the shim, so exits are reported by the
one process that can reap them, and signals (to the process group, as in
host mode) never race pid reuse. Consoles are ptys of the container's own
devpts, opened by the shim and passed back, so a console process finds its
terminal under its /dev/pts. Pause is the cgroup freezer. On cgroup v2 the
shim stays outside the cgroup (it clone3()s processes into it); on v1 its
children inherit its cgroups, so it is frozen too and the runtime thaws
before stopping or releasing. Lifetimes are chained: the shim dies with the
service (PR_SET_PDEATHSIG, socket EOF), init dies with the shim, and the
kernel kills the pid namespace with its init, so nothing outlives the
service, and the mounts vanish with the mount namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import functools
import itertools
import logging
import os
import re
import select
import shutil
import signal
import socket
import tempfile
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ..cgroups._cgroups import (
    CgroupError,
    CgroupHost,
    ContainerCgroup,
    Limits,
    compute_limits,
    create_cgroup,
    safe_name,
)
from ..compute._procinfo import process_list, rfc3339
from . import _shim_protocol as proto
from ._runtime import ContainerSpec, ProcessSpec, Runtime, RuntimeMode, SpawnedProcess, Stdio
from ._shim_launch import (
    Launched,
    configure,
    discard_later,
    in_background,
    launch,
    remove_cgroup_later,
    standby_pool,
    sweep_stale_cgroups_once,
)

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

__all__ = ["NamespaceProcess", "NamespaceRuntime", "create_namespace_runtime", "shim_path"]

SHIM_ENV = "HCSAIO_EMULATOR_SHIM"
START_TIMEOUT = 30.0
KILL_TIMEOUT = 30.0
SHIM_EXIT_TIMEOUT = 10.0
_HOSTNAME_MAX = 64
_instance_counter = itertools.count(1)


def shim_path() -> str:
    """The shim executable: ``$HCSAIO_EMULATOR_SHIM``, else the one installed
    next to this module."""
    return os.environ.get(SHIM_ENV) or str(Path(__file__).resolve().parent.parent / "hcsemu-shim")


async def create_namespace_runtime(spec: ContainerSpec) -> Runtime:
    """``RuntimeFactory`` for privileged containers with storage layers."""
    return NamespaceRuntime(spec)


def container_path(path: str) -> str:
    """A mapped directory's container path; Windows-style ``C:\\data`` is
    accepted as ``/data`` so documents written for Windows still work."""
    if re.match(r"^[A-Za-z]:([\\/]|$)", path):
        path = "/" + path[3:].replace("\\", "/")
    if not path.startswith("/"):
        raise ValueError(f"mapped directory container path must be absolute: {path!r}")
    return path


def exit_code(status: int) -> int:
    """Wait status -> exit code, ``128 + signal`` when killed."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def _reap_zombie(pid: int) -> None:
    """Reap a child whose pidfd polled readable (it has exited: no wait)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _exited(pidfd: int) -> bool:
    """Whether the process has exited (its pidfd polls readable), now."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(0))


async def _readable(fd: int, timeout: float) -> bool:
    """Wait until ``fd`` polls readable (a pidfd: the process exited)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, on_readable)
    try:
        async with asyncio.timeout(timeout):
            await ready
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)


class _State(enum.Enum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"  # init is gone, the shim has exited or is exiting
    DESTROYED = "destroyed"


class NamespaceProcess:
    """A process of the container; satisfies ``SpawnedProcess``."""

    def __init__(self, runtime: NamespaceRuntime, pid: int, host_pid: int) -> None:
        self._runtime = runtime
        self._pid = pid
        self._host_pid = host_pid
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def host_pid(self) -> int:
        return self._host_pid

    @property
    def returncode(self) -> int | None:
        return self._exit.result() if self._exit.done() else None

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    def signal(self, signum: int) -> None:
        """Signal the process group (the process leads its own session);
        nothing once the process has exited."""
        if not self._exit.done():
            self._runtime._send_signal(self._host_pid, signum)

    def _exited(self, code: int) -> None:
        if not self._exit.done():
            self._exit.set_result(code)

    def __repr__(self) -> str:
        return f"<NamespaceProcess pid={self._pid} host_pid={self._host_pid}>"


class NamespaceRuntime:
    """One container. Satisfies ``Runtime``; see the module docstring."""

    mode = RuntimeMode.NAMESPACE

    def __init__(
        self,
        spec: ContainerSpec,
        *,
        shim: str | None = None,
        cgroup_host: CgroupHost | None = None,
        cgroup_parent: str | None = None,
        standby: bool = True,
    ) -> None:
        self.spec = spec
        self._standby = standby
        self._shim = shim or shim_path()
        self._cgroup_host = cgroup_host
        self._cgroup_parent = cgroup_parent
        self._state = _State.NEW
        self._name = f"{safe_name(spec.system_id)}-{os.getpid()}-{next(_instance_counter)}"
        self._cgroup: ContainerCgroup | None = None
        self._scratch_owned: str | None = None
        self._sock: socket.socket | None = None
        self._shim_pid: int | None = None
        self._pidfd: int | None = None
        self._seq = itertools.count(1)
        self._outbox: deque[tuple[bytes, list[int]]] = deque()
        self._ready: asyncio.Future[int] | None = None
        self._cgroup_job: asyncio.Future[Any] | None = None
        self._spawns: dict[int, asyncio.Future[NamespaceProcess]] = {}
        self._consoles: dict[int, asyncio.Future[tuple[int, int]]] = {}
        self._abandoned: set[int] = set()
        self._idle: dict[int, asyncio.Future[None]] = {}
        self._processes: dict[int, NamespaceProcess] = {}
        self._dead = asyncio.Event()
        self._init_host_pid: int | None = None
        self._started_wall: datetime | None = None
        self._started_mono = 0.0

    # ------------------------------------------------------------ public

    @property
    def init_host_pid(self) -> int | None:
        """Host pid of the container's init (pid 1 inside)."""
        return self._init_host_pid

    @property
    def shim_pid(self) -> int | None:
        return self._shim_pid

    @property
    def cgroup(self) -> ContainerCgroup | None:
        return self._cgroup

    @property
    def running(self) -> bool:
        return self._state is _State.RUNNING and not self._dead.is_set()

    async def wait_stopped(self) -> None:
        """Return once the container's init is gone (stopped, or died)."""
        await self._dead.wait()

    async def open_console(self) -> tuple[int, int]:
        """A pty of the container's devpts (the shim opens it there)."""
        if not self.running:
            raise RuntimeError(f"container {self.spec.system_id} is not running")
        seq = next(self._seq)
        reply: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self._consoles[seq] = reply
        try:
            self._send(proto.encode_open_pty(seq))
            return await reply
        except asyncio.CancelledError:
            # unanswered: _on_pty closes the fds when they come
            if reply.done() and not reply.cancelled() and reply.exception() is None:
                _close_all(list(reply.result()))
            raise
        finally:
            self._consoles.pop(seq, None)

    async def start(self) -> None:
        if self._state is not _State.NEW:
            raise RuntimeError(f"container {self.spec.system_id} was already started")
        self._state = _State.STARTING
        try:
            await self._start()
        except BaseException:
            await self._release()
            self._state = _State.STOPPED
            raise
        self._state = _State.RUNNING

    async def spawn(self, spec: ProcessSpec, stdio: Stdio) -> SpawnedProcess:
        if not self.running:
            raise RuntimeError(f"container {self.spec.system_id} is not running")
        flags, fds = 0, []
        if spec.tty:
            flags |= proto.SPAWN_TTY
            if stdio.stdin is None:
                raise ValueError("EmulateConsole needs the pty as stdin")
        for fd, bit in (
            (stdio.stdin, proto.SPAWN_STDIN),
            (stdio.stdout, proto.SPAWN_STDOUT),
            (stdio.stderr, proto.SPAWN_STDERR),
        ):
            if fd is not None:
                flags |= bit
                fds.append(fd)
        seq = next(self._seq)
        msg = proto.encode_spawn(
            seq,
            argv=spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            user=spec.user,
            flags=flags,
            console_size=spec.console_size,
        )
        reply: asyncio.Future[NamespaceProcess] = asyncio.get_running_loop().create_future()
        self._spawns[seq] = reply
        try:
            self._send(msg, fds)
            return await reply
        except asyncio.CancelledError:
            # the shim may still start it: kill it when the reply comes
            if not reply.done():
                self._abandoned.add(seq)
            elif not reply.cancelled() and reply.exception() is None:
                reply.result().signal(signal.SIGKILL)
            raise
        except proto.ProtocolError as exc:
            raise RuntimeError(str(exc)) from exc
        finally:
            self._spawns.pop(seq, None)

    async def pause(self) -> None:
        if not self.running or self._cgroup is None:
            raise RuntimeError(f"container {self.spec.system_id} is not running")
        await self._cgroup.freeze()

    async def resume(self) -> None:
        if not self.running or self._cgroup is None:
            raise RuntimeError(f"container {self.spec.system_id} is not running")
        await self._cgroup.thaw()

    async def statistics(self) -> dict[str, object]:
        now = datetime.now(UTC)
        started = self._started_wall or now
        uptime = time.monotonic() - self._started_mono if self._started_wall else 0.0
        cg = self._cgroup
        cpu = cg.cpu_usage() if cg else None
        mem = cg.memory_usage() if cg else None
        return {
            "Timestamp": rfc3339(now),
            "ContainerStartTime": rfc3339(started),
            "Uptime100ns": int(uptime * 10_000_000),
            "Processor": {
                "TotalRuntime100ns": cpu.total_ns // 100 if cpu else 0,
                "RuntimeUser100ns": cpu.user_ns // 100 if cpu else 0,
                "RuntimeKernel100ns": cpu.kernel_ns // 100 if cpu else 0,
            },
            "Memory": {
                "MemoryUsageCommitBytes": mem.usage if mem else 0,
                "MemoryUsageCommitPeakBytes": mem.peak if mem else 0,
                "MemoryUsagePrivateWorkingSetBytes": mem.working_set if mem else 0,
            },
        }

    async def process_list(self) -> list[dict[str, object]]:
        if self._cgroup is None:
            return []
        # on cgroup v1 the shim is a member; it is not part of the container
        members = (pid for pid in self._cgroup.pids() if pid != self._shim_pid)
        names = {self._init_host_pid: "hcsemu-init"} if self._init_host_pid else {}
        return process_list(members, names)

    async def stop(self, *, grace: float | None) -> None:
        if self._state is not _State.RUNNING:
            return
        if not self._dead.is_set():
            assert self._cgroup is not None
            if self._cgroup.is_frozen():
                # frozen tasks act on no signal (v1 not even on SIGKILL)
                await self._cgroup.thaw()
            if grace is not None:
                await self._terminate_gracefully(grace)
            await self._kill()
        self._state = _State.STOPPED
        await self._reap_shim()

    async def destroy(self) -> None:
        if self._state is _State.DESTROYED:
            return
        try:
            if self._state is _State.RUNNING:
                with contextlib.suppress(Exception):
                    await self.stop(grace=None)
        finally:
            self._state = _State.DESTROYED
            await self._release()

    # ----------------------------------------------------------- startup

    def _shim_options(self) -> list[str]:
        """The container's options for the shim (cgroup options aside)."""
        spec = self.spec
        scratch = spec.scratch
        if scratch is None:
            scratch = self._scratch_owned = tempfile.mkdtemp(prefix=f"hcsaio-{self._name}-")
        hostname = (spec.hostname or spec.system_id)[:_HOSTNAME_MAX]
        options = ["--scratch", os.path.abspath(scratch), "--hostname", hostname]
        for layer in spec.layers:
            options += ["--layer", os.path.abspath(layer)]
        for m in spec.mapped_directories:
            mode = "ro" if m.read_only else "rw"
            options += [
                "--map",
                os.path.abspath(m.host_path),
                container_path(m.container_path),
                mode,
            ]
        return options

    def _check_spec(self) -> None:
        spec = self.spec
        if not spec.layers:
            raise RuntimeError("a namespace container needs at least one storage layer")
        for layer in spec.layers:
            if not os.path.isdir(layer):
                raise RuntimeError(f"layer folder {layer!r} does not exist")
        for m in spec.mapped_directories:
            if not os.path.exists(m.host_path):
                raise RuntimeError(f"mapped directory {m.host_path!r} does not exist")
        if not os.path.exists(self._shim):
            raise RuntimeError(
                f"the container shim {self._shim!r} is missing "
                f"(build the package, or set {SHIM_ENV})"
            )

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        limits, options = self._prepare()
        host = self._cgroup_host or CgroupHost.detect()
        sweep_stale_cgroups_once(host, self._cgroup_parent)
        pool = standby_pool(self._shim, host, self._cgroup_parent) if self._standby else None
        standby = pool.take() if pool else None
        self._ready = loop.create_future()
        try:
            async with asyncio.timeout(START_TIMEOUT):
                taken = standby is not None and await self._hand_over(standby, limits, options)
                if pool is not None:
                    pool.refill_soon()  # now: its migration would hold up the rename
                if taken:
                    assert standby is not None
                    self._adopt(standby)
                    self._watch_socket()
                else:
                    self._cgroup = await self._cgroup_op(
                        create_cgroup, host, self._name, limits, parent=self._cgroup_parent
                    )
                    self._adopt(
                        launch(self._shim, options + self._cgroup.shim_args(), self._cgroup)
                    )
                    self._watch_socket()
                self._init_host_pid = await self._ready
        except TimeoutError:
            raise RuntimeError(
                f"container {self.spec.system_id} did not start within {START_TIMEOUT} s"
            ) from None
        self._started_wall = datetime.now(UTC)
        self._started_mono = time.monotonic()

    async def _hand_over(self, standby: Launched, limits: Limits, options: list[str]) -> bool:
        """Give a standby shim this container: limits on its cgroup, wait
        for JOINED (it is inside; normally long since), send the options.
        False if it turned out to be dead: a standby is only a shortcut."""
        try:
            # before CONFIGURE: the container's processes start under them
            standby.cgroup.apply(limits)
            reply = await asyncio.get_running_loop().sock_recv(standby.sock, 4096)
            if not reply or not isinstance(proto.decode(reply), proto.Joined):
                raise ConnectionError("the standby shim is gone")
            configure(standby, options)
        except BaseException as exc:
            discard_later(standby)
            if isinstance(exc, OSError | proto.ProtocolError):
                logger.info("standby shim %d unusable (%s); starting afresh", standby.pid, exc)
                return False
            raise
        # the cgroup is named after this container while the shim sets up
        # (never before: a standby found dead is discarded by its old name)
        renaming = in_background(functools.partial(self._rename_quietly, standby.cgroup))
        await asyncio.shield(asyncio.wrap_future(renaming))
        return True

    def _rename_quietly(self, cgroup: ContainerCgroup) -> None:
        try:
            cgroup.rename(self._name)
        except CgroupError as exc:  # the standby name works as well
            logger.info("%s", exc)

    def _prepare(self) -> tuple[Limits, list[str]]:
        spec = self.spec
        try:
            self._check_spec()
            limits = compute_limits(
                memory_mb=spec.memory_mb,
                processor_count=spec.processor_count,
                processor_maximum=spec.processor_maximum,
                processor_weight=spec.processor_weight,
                host_cpus=len(os.sched_getaffinity(0)),
            )
            return limits, self._shim_options()
        except ValueError as exc:
            raise RuntimeError(str(exc)) from exc

    async def _cgroup_op(self, op: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run a cgroup operation on a worker thread: mkdir, rmdir and rename
        wait for cgroup_mutex, which another container's migration holds
        for a whole RCU grace period. A cancelled caller leaves the job
        running; ``_release`` waits for it before touching the cgroup."""
        job = asyncio.ensure_future(asyncio.to_thread(op, *args, **kwargs))
        self._cgroup_job = job
        return await asyncio.shield(job)

    def _watch_socket(self) -> None:
        assert self._sock is not None
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._on_readable)

    def _adopt(self, launched: Launched) -> None:
        self._cgroup = launched.cgroup
        self._sock = launched.sock
        self._shim_pid = launched.pid
        self._pidfd = launched.pidfd

    # ------------------------------------------------------ the socket

    def _send(self, msg: bytes, fds: list[int] | None = None) -> None:
        sock = self._sock
        if sock is None or self._dead.is_set():
            raise RuntimeError(f"container {self.spec.system_id} is not running")
        fds = fds or []
        if not self._outbox:
            try:
                socket.send_fds(sock, [msg], fds)
                return
            except BlockingIOError:
                pass
            except OSError as exc:
                if exc.errno == errno.EMSGSIZE:
                    raise ValueError("command line and environment are too large") from exc
                raise RuntimeError(f"the container shim is gone: {exc}") from exc
        # the shim is behind: keep private copies of the fds until it is sent
        self._outbox.append((msg, [os.dup(fd) for fd in fds]))
        asyncio.get_running_loop().add_writer(sock.fileno(), self._flush)

    def _flush(self) -> None:
        sock = self._sock
        while self._outbox and sock is not None:
            msg, fds = self._outbox[0]
            try:
                socket.send_fds(sock, [msg], fds)
            except BlockingIOError:
                return
            except OSError:
                pass  # the shim died: EOF handling fails the waiters
            self._outbox.popleft()
            for fd in fds:
                os.close(fd)
        if sock is not None:
            asyncio.get_running_loop().remove_writer(sock.fileno())

    def _send_signal(self, host_pid: int, signum: int) -> None:
        with contextlib.suppress(RuntimeError):
            self._send(proto.encode_signal(next(self._seq), host_pid, signum))

    def _on_readable(self) -> None:
        sock = self._sock
        while sock is not None:
            fds: list[int] = []
            try:
                data, fds, _, _ = socket.recv_fds(sock, 4096, 2, socket.MSG_CMSG_CLOEXEC)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                _close_all(fds)
                self._on_eof()
                return
            try:
                event = proto.decode(data)
            except proto.ProtocolError as exc:
                _close_all(fds)
                self._fail_waiters(RuntimeError(str(exc)))
                continue
            if isinstance(event, proto.Pty):
                self._on_pty(event, fds)  # takes the fds
                continue
            _close_all(fds)  # only a PTY carries any
            self._dispatch(event)

    def _dispatch(self, event: proto.Event) -> None:
        if isinstance(event, proto.Exited):
            proc = self._processes.pop(event.host_pid, None)
            if proc is not None:
                proc._exited(exit_code(event.status))
        elif isinstance(event, proto.Spawned):
            self._on_spawned(event)
        elif isinstance(event, proto.Idle):
            idle = self._idle.pop(event.seq, None)
            if idle is not None and not idle.done():
                idle.set_result(None)
        elif isinstance(event, proto.Ready):
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(event.init_host_pid)
        elif isinstance(event, proto.SetupError):
            self._fail_start(RuntimeError(f"container {self.spec.system_id}: {event.message}"))
        elif isinstance(event, proto.Dead):
            self._on_dead()

    def _on_spawned(self, event: proto.Spawned) -> None:
        waiter = self._spawns.get(event.seq)
        if event.errno:
            if waiter is not None and not waiter.done():
                waiter.set_exception(self._spawn_error(event))
            self._abandoned.discard(event.seq)
            return
        # registered here, not in spawn(): its exit may be in the same batch
        proc = NamespaceProcess(self, event.pid, event.host_pid)
        self._processes[event.host_pid] = proc
        if event.seq in self._abandoned or waiter is None or waiter.done():
            self._abandoned.discard(event.seq)
            proc.signal(signal.SIGKILL)
        else:
            waiter.set_result(proc)

    def _on_pty(self, event: proto.Pty, fds: list[int]) -> None:
        waiter = self._consoles.get(event.seq)
        if waiter is None or waiter.done():
            _close_all(fds)  # its open_console() was cancelled
        elif event.errno:
            _close_all(fds)
            waiter.set_exception(OSError(event.errno, os.strerror(event.errno)))
        elif len(fds) != 2:
            _close_all(fds)
            waiter.set_exception(RuntimeError("the shim sent no pty"))
        else:
            waiter.set_result((fds[0], fds[1]))

    def _spawn_error(self, event: proto.Spawned) -> Exception:
        err, stage = event.errno, event.stage
        reason = os.strerror(err)
        if stage == proto.STAGE_EXEC:
            if err == errno.ENOENT:
                return FileNotFoundError(err, "no such program in the container", None)
            if err in (errno.EACCES, errno.EPERM, errno.ENOEXEC, errno.EISDIR):
                return PermissionError(err, f"cannot execute: {reason}", None)
            return OSError(err, f"exec failed: {reason}")
        if stage == proto.STAGE_CWD:
            return ValueError(f"working directory: {reason}")
        if stage == proto.STAGE_USER:
            if err == errno.ENOENT:
                return ValueError("no such user or group in the container")
            return ValueError(f"cannot switch user: {reason}")
        if stage == proto.STAGE_REQUEST:
            return ValueError(f"the shim rejected the request: {reason}")
        if stage == proto.STAGE_FORK and err == errno.ENOMEM:
            return RuntimeError(f"container {self.spec.system_id} is not running")
        if stage == proto.STAGE_VANISHED:
            return RuntimeError("the process was killed while starting")
        return OSError(err, f"process setup failed (stage {stage}): {reason}")

    def _on_dead(self) -> None:
        self._dead.set()
        # every exit was reported before DEAD; anything left was never started
        for proc in self._processes.values():
            proc._exited(128 + signal.SIGKILL)
        self._processes.clear()
        self._fail_waiters(RuntimeError(f"container {self.spec.system_id} is not running"))

    def _on_eof(self) -> None:
        sock = self._sock
        if sock is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(sock.fileno())
            if self._outbox:
                loop.remove_writer(sock.fileno())
        self._fail_start(
            RuntimeError(f"container {self.spec.system_id}: the shim exited during setup")
        )
        # the shim's death killed init (PDEATHSIG) and with it the namespace
        self._on_dead()

    def _fail_start(self, exc: Exception) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(exc)

    def _fail_waiters(self, exc: Exception) -> None:
        for spawn in self._spawns.values():
            if not spawn.done():
                spawn.set_exception(exc)
        for console in self._consoles.values():
            if not console.done():
                console.set_exception(exc)
        for idle in self._idle.values():
            if not idle.done():
                idle.set_exception(exc)
        self._idle.clear()

    # ------------------------------------------------------------- stop

    async def _terminate_gracefully(self, grace: float) -> None:
        seq = next(self._seq)
        idle: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle[seq] = idle
        try:
            self._send(proto.encode_signal_all(seq, signal.SIGTERM))
        except RuntimeError:
            return
        try:
            # a dead shim fails the idle waiter too (_fail_waiters): no
            # second watcher needed
            async with asyncio.timeout(grace):
                await idle
        except (TimeoutError, RuntimeError):
            pass  # grace over, or the shim died: _kill handles both
        finally:
            self._idle.pop(seq, None)
            if not idle.done():
                idle.cancel()
            elif not idle.cancelled():
                idle.exception()  # retrieved

    async def _kill(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._send(proto.encode_kill(next(self._seq)))
        try:
            async with asyncio.timeout(KILL_TIMEOUT):
                await self._dead.wait()
        except TimeoutError:
            # something in the namespace is stuck in the kernel; the cgroup
            # is the last handle on it
            if self._cgroup is not None:
                self._cgroup.kill_all()
            raise RuntimeError(
                f"container {self.spec.system_id} did not die within {KILL_TIMEOUT} s"
            ) from None

    async def _reap_shim(self) -> None:
        """Wait for the shim to exit (its mount namespace, and so every
        container mount, is gone once it has) and reap it."""
        pid, pidfd = self._shim_pid, self._pidfd
        if pid is None or pidfd is None:
            return
        # after DEAD the shim exits at once: usually it already has
        if not _exited(pidfd) and not await _readable(pidfd, SHIM_EXIT_TIMEOUT):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            await _readable(pidfd, SHIM_EXIT_TIMEOUT)
        _reap_zombie(pid)
        os.close(pidfd)
        self._pidfd = None
        self._shim_pid = None

    async def _release(self) -> None:
        """Free every OS resource; safe to call in any state, more than once."""
        job, self._cgroup_job = self._cgroup_job, None
        if job is not None:
            # a cgroup operation of a cancelled start may still be running
            with contextlib.suppress(Exception):
                made = await asyncio.shield(job)
                if self._cgroup is None and isinstance(made, ContainerCgroup):
                    self._cgroup = made
        if self._cgroup is not None and self._shim_pid is not None:
            with contextlib.suppress(Exception):
                if self._cgroup.is_frozen():
                    # on v1 the shim is frozen too, and nothing frozen dies
                    await self._cgroup.thaw()
        if self._shim_pid is not None and self._pidfd is not None:
            if not self._dead.is_set() and self._sock is not None:
                # closing the socket makes the shim kill init and exit
                self._close_socket()
            await self._reap_shim()
        self._close_socket()
        self._on_dead_if_needed()
        if self._cgroup is not None:
            if self._cgroup.pids():
                self._cgroup.kill_all()
            # every member is gone; the empty directory goes in the background
            remove_cgroup_later(self._cgroup)
            self._cgroup = None
        if self._scratch_owned is not None:
            shutil.rmtree(self._scratch_owned, ignore_errors=True)
            self._scratch_owned = None

    def _on_dead_if_needed(self) -> None:
        if not self._dead.is_set():
            self._on_dead()

    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(sock.fileno())
        loop.remove_writer(sock.fileno())
        sock.close()
        while self._outbox:
            _, fds = self._outbox.popleft()
            for fd in fds:
                os.close(fd)
