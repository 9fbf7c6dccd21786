"""One cgroup per container: limits from the document, statistics, the freezer.

Both cgroup versions are supported:

* **v1** (and the "hybrid" layout, v1 controllers plus an empty cgroup2 at
  ``/sys/fs/cgroup/unified``): a directory in each of the ``memory``,
  ``cpu``, ``cpuacct`` and ``freezer`` hierarchies (co-mounted hierarchies
  share one). By default they nest under the service's own cgroup of each
  hierarchy (``<own>/hcsaio/<name>``): v1 allows processes and children
  side by side, and nesting keeps whatever limits the service's supervisor
  set covering its containers.
* **v2** (``cgroup.controllers`` at the root of a cgroup2 mount): one
  directory, by default ``/hcsaio/<name>`` at the root of the hierarchy,
  because a v2 cgroup that holds processes (the service's own) cannot hand
  controllers to children. ``memory`` and ``cpu`` are enabled in every
  ancestor's ``cgroup.subtree_control``.

``HCSAIO_CGROUP_PARENT`` (a path inside the hierarchy, such as
``/hcsaio``) overrides the parent in both cases.

Limits (see ``compute_limits``):

* ``Memory.SizeInMB`` -> ``memory.limit_in_bytes`` and
  ``memory.memsw.limit_in_bytes`` (v1) / ``memory.max`` and
  ``memory.swap.max = 0`` (v2): HCS limits the job's *commit*, which
  includes the pagefile, so swap must not extend it.
* ``Processor.Count`` -> a CFS quota of ``Count x period``; Windows itself
  only simulates the count with a hard CPU-rate cap, which is what a quota is.
* ``Processor.Maximum`` (1..10000, the share of the whole host x 10000) ->
  quota ``Maximum / 10000 x host CPUs x period``. With both, the tighter
  quota wins. Quotas covering the whole host are not set.
* ``Processor.Weight`` (1..10000; 0 = default) -> linear, with HCS's middle
  value 5000 (Windows' default job weight 5 of 1..9) equal to the kernel's
  default: ``cpu.shares = Weight x 1024 / 5000`` (v1, 2..262144) and
  ``cpu.weight = Weight x 100 / 5000`` (v2, 1..10000). Ratios between
  containers are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import select
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

CPU_PERIOD_US = 100_000
MIN_QUOTA_US = 1_000  # the kernel's minimum CFS quota
HCS_DEFAULT_WEIGHT = 5_000
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "freezer")
V2_CONTROLLERS = ("memory", "cpu")
KNOWN_V1_CONTROLLERS = frozenset(
    {
        "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory",
        "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma",
    }
)  # fmt: skip
PARENT_ENV = "HCSAIO_CGROUP_PARENT"


class CgroupError(RuntimeError):
    """A cgroup could not be created, configured or removed."""


# ---------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    memory_bytes: int | None = None
    cpu_quota_us: int | None = None
    cpu_period_us: int = CPU_PERIOD_US
    cpu_weight: int | None = None  # HCS units, 1..10000


def compute_limits(
    *,
    memory_mb: int | None,
    processor_count: int | None,
    processor_maximum: int | None,
    processor_weight: int | None,
    host_cpus: int,
) -> Limits:
    """The document's limits in kernel terms (module docstring: the mapping)."""
    memory = memory_mb * 1024 * 1024 if memory_mb else None
    if memory is not None and memory < 0:
        raise ValueError(f"Memory.SizeInMB must not be negative: {memory_mb}")
    quotas: list[int] = []
    if processor_count:
        if processor_count < 0:
            raise ValueError(f"Processor.Count must not be negative: {processor_count}")
        if processor_count < host_cpus:
            quotas.append(processor_count * CPU_PERIOD_US)
    if processor_maximum:
        if not 0 < processor_maximum <= 10_000:
            raise ValueError(f"Processor.Maximum must be 1..10000: {processor_maximum}")
        if processor_maximum < 10_000:
            quotas.append(processor_maximum * host_cpus * CPU_PERIOD_US // 10_000)
    quota = max(min(quotas), MIN_QUOTA_US) if quotas else None
    weight = None
    if processor_weight:
        if not 0 < processor_weight <= 10_000:
            raise ValueError(f"Processor.Weight must be 0..10000: {processor_weight}")
        weight = processor_weight
    return Limits(memory_bytes=memory, cpu_quota_us=quota, cpu_weight=weight)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def v1_shares(weight: int) -> int:
    return _clamp(round(weight * 1024 / HCS_DEFAULT_WEIGHT), 2, 262_144)


def v2_weight(weight: int) -> int:
    return _clamp(round(weight * 100 / HCS_DEFAULT_WEIGHT), 1, 10_000)


def v1_settings(limits: Limits) -> list[tuple[str, str, str]]:
    """(controller, file, value) in the order they must be written."""
    out: list[tuple[str, str, str]] = []
    if limits.memory_bytes is not None:
        value = str(limits.memory_bytes)
        out.append(("memory", "memory.limit_in_bytes", value))
        # memsw >= limit is enforced, so it goes second; absent without swap accounting
        out.append(("memory", "memory.memsw.limit_in_bytes", value))
    if limits.cpu_quota_us is not None:
        out.append(("cpu", "cpu.cfs_period_us", str(limits.cpu_period_us)))
        out.append(("cpu", "cpu.cfs_quota_us", str(limits.cpu_quota_us)))
    if limits.cpu_weight is not None:
        out.append(("cpu", "cpu.shares", str(v1_shares(limits.cpu_weight))))
    return out


def v2_settings(limits: Limits) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if limits.memory_bytes is not None:
        out.append(("memory.max", str(limits.memory_bytes)))
        out.append(("memory.swap.max", "0"))
    if limits.cpu_quota_us is not None:
        out.append(("cpu.max", f"{limits.cpu_quota_us} {limits.cpu_period_us}"))
    if limits.cpu_weight is not None:
        out.append(("cpu.weight", str(v2_weight(limits.cpu_weight))))
    return out


# Files that may be missing without making a limit ineffective.
_OPTIONAL_FILES = frozenset({"memory.memsw.limit_in_bytes", "memory.swap.max"})


# ------------------------------------------------------------- detection

_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


@dataclass(frozen=True)
class CgroupMount:
    mountpoint: str
    root: str  # the hierarchy path this mount shows at its mountpoint
    version: int
    controllers: frozenset[str] = frozenset()  # v1 only


def parse_mountinfo(text: str) -> list[CgroupMount]:
    mounts: list[CgroupMount] = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        fstype = rfields[0]
        if fstype == "cgroup2":
            mounts.append(CgroupMount(_unescape(fields[4]), _unescape(fields[3]), 2))
        elif fstype == "cgroup":
            ctrls = frozenset(rfields[2].split(",")) & KNOWN_V1_CONTROLLERS
            mounts.append(CgroupMount(_unescape(fields[4]), _unescape(fields[3]), 1, ctrls))
    return mounts


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """controller -> cgroup path of the process; "" is the v2 hierarchy."""
    own: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        for ctrl in ctrls.split(",") if ctrls else [""]:
            own[ctrl] = path
    return own


@dataclass(frozen=True)
class CgroupHost:
    """Where the cgroup hierarchies are and where this process sits in them."""

    version: int
    v1: dict[str, CgroupMount] = field(default_factory=dict)  # controller -> mount
    v2: CgroupMount | None = None
    own: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_texts(cls, mountinfo: str, proc_cgroup: str) -> CgroupHost:
        mounts = parse_mountinfo(mountinfo)
        own = parse_proc_cgroup(proc_cgroup)
        v1: dict[str, CgroupMount] = {}
        v2: CgroupMount | None = None
        for m in mounts:
            if m.version == 1:
                for ctrl in m.controllers:
                    v1.setdefault(ctrl, m)
            elif v2 is None:
                v2 = m
        # hybrid hosts have an empty cgroup2 next to the v1 controllers: v1 wins
        if any(c in v1 for c in V1_CONTROLLERS):
            return cls(version=1, v1=v1, v2=v2, own=own)
        if v2 is None:
            raise CgroupError("no cgroup hierarchy is mounted")
        return cls(version=2, v2=v2, own=own)

    @classmethod
    def detect(cls, *, refresh: bool = False) -> CgroupHost:
        """The layout for this process (cached: mounts and our own cgroup
        do not change under a running service)."""
        global _detected
        if _detected is None or refresh:
            with open("/proc/self/mountinfo") as f:
                mountinfo = f.read()
            with open("/proc/self/cgroup") as f:
                proc_cgroup = f.read()
            _detected = cls.from_texts(mountinfo, proc_cgroup)
        return _detected

    def own_path(self, key: str) -> str:
        """This process's cgroup in a hierarchy, relative to the mount's root."""
        mount = self.v2 if key == "" else self.v1.get(key)
        path = self.own.get(key, "/")
        if mount is None or mount.root == "/":
            return path
        if path == mount.root or path.startswith(mount.root.rstrip("/") + "/"):
            return "/" + path[len(mount.root) :].lstrip("/")
        return "/"  # our cgroup is not visible through this mount


_detected: CgroupHost | None = None


def safe_name(text: str) -> str:
    """A cgroup directory name from a system id."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", text).lstrip(".") or "system"
    return name[:180]


def create_cgroup(
    host: CgroupHost, name: str, limits: Limits, *, parent: str | None = None
) -> ContainerCgroup:
    parent = parent or os.environ.get(PARENT_ENV) or None
    cg: ContainerCgroup = (
        V1Cgroup(host, name, parent) if host.version == 1 else V2Cgroup(host, name, parent)
    )
    cg.create(limits)
    return cg


# ---------------------------------------------------------- file helpers


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _read_int(path: str) -> int | None:
    try:
        return int(_read(path).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_keyed(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        text = _read(path)
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            out[key] = int(value)
    return out


def _read_pids(path: str) -> list[int]:
    try:
        return [int(x) for x in _read(path).split()]
    except FileNotFoundError:
        return []


def _rmdir_retrying_now(path: str, timeout: float) -> None:
    """EBUSY right after the last task exits is transient; nothing notifies
    "removable", so retry with a growing delay."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() >= deadline:
                raise CgroupError(f"cannot remove cgroup {path}: {exc.strerror}") from exc
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _mkdir_leaf(path: str) -> None:
    """mkdir, creating the shared parents (``.../hcsaio``) only the first time."""
    try:
        os.mkdir(path)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path)


async def _poll_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """For v1 files that offer no change notification."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.0005
    while not check():
        if loop.time() >= deadline:
            raise CgroupError(f"timed out waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.02)


async def _wait_events_file(path: str, check: Callable[[str], bool], timeout: float) -> None:
    """Wait until ``check(contents)`` holds for a v2 ``*.events`` file. kernfs
    signals changes as EPOLLPRI, which an epoll fd turns into readability."""
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    ep = select.epoll()
    changed = asyncio.Event()

    def on_ready() -> None:
        ep.poll(0)
        changed.set()

    try:
        ep.register(fd, select.EPOLLPRI | select.EPOLLERR)
        loop.add_reader(ep.fileno(), on_ready)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed.clear()
                    # reading re-arms the notification, so read before waiting
                    if check(os.pread(fd, 4096, 0).decode()):
                        return
                    await changed.wait()
        except TimeoutError:
            raise CgroupError(f"timed out waiting for {path}") from None
        finally:
            loop.remove_reader(ep.fileno())
    finally:
        ep.close()
        os.close(fd)


# ------------------------------------------------------------ the cgroup


@dataclass(frozen=True)
class CpuUsage:
    total_ns: int
    user_ns: int
    kernel_ns: int


@dataclass(frozen=True)
class MemoryUsage:
    usage: int
    peak: int
    working_set: int


class ContainerCgroup(ABC):
    version: int

    @property
    @abstractmethod
    def procs_files(self) -> list[str]:
        """The cgroup.procs file of every directory."""

    @abstractmethod
    def shim_args(self) -> list[str]:
        """How hcsemu-shim puts the container's processes in this cgroup."""

    @property
    @abstractmethod
    def paths(self) -> list[str]:
        """Every directory this cgroup created."""

    @abstractmethod
    def create(self, limits: Limits) -> None:
        """Make the directories and apply ``limits``; on failure nothing is left."""

    @abstractmethod
    def apply(self, limits: Limits) -> None:
        """Set limits on an existing cgroup (a standby shim's, when taken)."""

    def rename(self, name: str) -> None:
        """Give the cgroup its container's name (v1; waits for cgroup_mutex,
        so call it on a worker thread). v2 cgroups cannot be renamed, and
        need no standby shims."""
        raise CgroupError(f"cgroup v{self.version} directories cannot be renamed")

    @abstractmethod
    def remove_now(self, timeout: float = 2.0) -> None:
        """rmdir, retrying while the kernel still calls the cgroup busy
        (right after its last task exits). Blocking: use a worker thread."""

    @abstractmethod
    async def freeze(self, timeout: float = 10.0) -> None: ...

    @abstractmethod
    async def thaw(self, timeout: float = 10.0) -> None: ...

    @abstractmethod
    def is_frozen(self) -> bool: ...

    @abstractmethod
    def pids(self) -> list[int]: ...

    @abstractmethod
    def cpu_usage(self) -> CpuUsage: ...

    @abstractmethod
    def memory_usage(self) -> MemoryUsage: ...

    def kill_all(self) -> None:
        """SIGKILL every member (a fallback; the pid namespace normally does it)."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class V1Cgroup(ContainerCgroup):
    version = 1

    def __init__(self, host: CgroupHost, name: str, parent: str | None) -> None:
        self._dirs: dict[str, str] = {}
        for ctrl in V1_CONTROLLERS:
            mount = host.v1.get(ctrl)
            if mount is None:
                continue
            base = parent if parent else host.own_path(ctrl).rstrip("/") + "/hcsaio"
            self._dirs[ctrl] = os.path.join(mount.mountpoint, base.strip("/"), name)
        if not self._dirs:
            raise CgroupError("no cgroup v1 controller of memory, cpu, cpuacct, freezer")
        self._created: list[str] = []

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self.paths]

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(self._dirs.values()))  # co-mounted ones once

    def shim_args(self) -> list[str]:
        # v1 cannot create a process inside a cgroup: the shim joins once and
        # every container process inherits (a migration costs a grace period)
        return [arg for procs in self.procs_files for arg in ("--cgroup", procs)]

    def dir(self, controller: str) -> str | None:
        return self._dirs.get(controller)

    def create(self, limits: Limits) -> None:
        try:
            for path in self.paths:
                _mkdir_leaf(path)
                self._created.append(path)
            self.apply(limits)
        except BaseException:
            self._rmdir_now()
            raise

    def apply(self, limits: Limits) -> None:
        for ctrl, name, value in v1_settings(limits):
            directory = self._dirs.get(ctrl)
            if directory is None:
                raise CgroupError(f"the {ctrl} cgroup controller is not available")
            path = os.path.join(directory, name)
            if name in _OPTIONAL_FILES and not os.path.exists(path):
                continue
            try:
                _write(path, value)
            except OSError as exc:
                raise CgroupError(f"cannot set {path} = {value}: {exc.strerror}") from exc

    def rename(self, name: str) -> None:
        # v1 renames a cgroup within its parent, members and all
        renamed = {old: os.path.join(os.path.dirname(old), name) for old in self.paths}
        done: dict[str, str] = {}
        try:
            for old, new in renamed.items():
                os.rename(old, new)
                done[old] = new
        except OSError as exc:
            for old, new in done.items():  # all or nothing: one name per container
                with contextlib.suppress(OSError):
                    os.rename(new, old)
            raise CgroupError(f"cannot rename cgroup {old}: {exc.strerror}") from exc
        self._dirs = {ctrl: renamed[path] for ctrl, path in self._dirs.items()}
        self._created = [renamed.get(path, path) for path in self._created]

    def remove_now(self, timeout: float = 2.0) -> None:
        for path in reversed(self.paths):
            _rmdir_retrying_now(path, timeout)
        self._created.clear()

    def _rmdir_now(self) -> None:
        for path in reversed(self._created):
            with contextlib.suppress(OSError):
                os.rmdir(path)
        self._created.clear()

    def _freezer_state(self) -> str:
        directory = self._dirs.get("freezer")
        if directory is None:
            raise CgroupError("the freezer cgroup controller is not available")
        return os.path.join(directory, "freezer.state")

    async def freeze(self, timeout: float = 10.0) -> None:
        state = self._freezer_state()
        _write(state, "FROZEN")
        # FREEZING until every task stopped; v1 has no notification for it
        await _poll_until(lambda: _read(state).strip() == "FROZEN", timeout, "the freezer")

    async def thaw(self, timeout: float = 10.0) -> None:
        state = self._freezer_state()
        _write(state, "THAWED")
        await _poll_until(lambda: _read(state).strip() == "THAWED", timeout, "the thaw")

    def is_frozen(self) -> bool:
        directory = self._dirs.get("freezer")
        return directory is not None and _read(self._freezer_state()).strip() != "THAWED"

    def pids(self) -> list[int]:
        return _read_pids(os.path.join(self.paths[0], "cgroup.procs"))

    def cpu_usage(self) -> CpuUsage:
        directory = self._dirs.get("cpuacct")
        if directory is None:
            return CpuUsage(0, 0, 0)
        total = _read_int(os.path.join(directory, "cpuacct.usage")) or 0
        user = _read_int(os.path.join(directory, "cpuacct.usage_user"))
        kernel = _read_int(os.path.join(directory, "cpuacct.usage_sys"))
        if user is None or kernel is None:  # older kernels: USER_HZ ticks only
            stat = _read_keyed(os.path.join(directory, "cpuacct.stat"))
            tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
            user = stat.get("user", 0) * tick_ns
            kernel = stat.get("system", 0) * tick_ns
        return CpuUsage(total, user, kernel)

    def memory_usage(self) -> MemoryUsage:
        directory = self._dirs.get("memory")
        if directory is None:
            return MemoryUsage(0, 0, 0)
        usage = _read_int(os.path.join(directory, "memory.usage_in_bytes")) or 0
        peak = _read_int(os.path.join(directory, "memory.max_usage_in_bytes")) or usage
        inactive = _read_keyed(os.path.join(directory, "memory.stat")).get("total_inactive_file", 0)
        return MemoryUsage(usage, max(peak, usage), max(usage - inactive, 0))


class V2Cgroup(ContainerCgroup):
    version = 2

    def __init__(self, host: CgroupHost, name: str, parent: str | None) -> None:
        if host.v2 is None:
            raise CgroupError("no cgroup2 hierarchy is mounted")
        self._mount = host.v2.mountpoint
        self._parent = os.path.join(self._mount, (parent or "/hcsaio").strip("/"))
        self._dir = os.path.join(self._parent, name)
        self._created = False
        self._peak_seen = 0

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(self._dir, "cgroup.procs")]

    @property
    def paths(self) -> list[str]:
        return [self._dir]

    def shim_args(self) -> list[str]:
        # clone3(CLONE_INTO_CGROUP): no migration, and the shim stays outside
        return ["--cgroup-v2", self._dir]

    def _file(self, name: str) -> str:
        return os.path.join(self._dir, name)

    def _ancestors(self) -> Iterable[str]:
        """The mount root down to our parent: each must delegate controllers."""
        rel = os.path.relpath(self._parent, self._mount)
        current = self._mount
        yield current
        if rel == ".":
            return
        for part in rel.split(os.sep):
            current = os.path.join(current, part)
            yield current

    def _enable_controllers(self, wanted: set[str]) -> None:
        for directory in self._ancestors():
            os.makedirs(directory, exist_ok=True)
            available = set(_read(os.path.join(directory, "cgroup.controllers")).split())
            enabled = set(_read(os.path.join(directory, "cgroup.subtree_control")).split())
            for ctrl in sorted((wanted & available) - enabled):
                try:
                    _write(os.path.join(directory, "cgroup.subtree_control"), f"+{ctrl}")
                except OSError as exc:
                    raise CgroupError(
                        f"cannot enable the {ctrl} controller in {directory}: {exc.strerror}"
                        " (a v2 cgroup with processes cannot delegate; set "
                        f"{PARENT_ENV} to an empty subtree)"
                    ) from exc

    def create(self, limits: Limits) -> None:
        wanted = {name.split(".")[0] for name, _ in v2_settings(limits)} | set(V2_CONTROLLERS)
        try:
            self._enable_controllers(wanted)
            with contextlib.suppress(FileExistsError):
                os.mkdir(self._dir)
            self._created = True
            self.apply(limits)
        except BaseException:
            if self._created:
                with contextlib.suppress(OSError):
                    os.rmdir(self._dir)
                self._created = False
            raise

    def apply(self, limits: Limits) -> None:
        for name, value in v2_settings(limits):
            path = self._file(name)
            if not os.path.exists(path):
                if name in _OPTIONAL_FILES:
                    continue
                raise CgroupError(
                    f"the {name.split('.')[0]} cgroup controller is not available for {name}"
                )
            try:
                _write(path, value)
            except OSError as exc:
                raise CgroupError(f"cannot set {path} = {value}: {exc.strerror}") from exc

    def remove_now(self, timeout: float = 2.0) -> None:
        if self._created:
            _rmdir_retrying_now(self._dir, timeout)
            self._created = False

    @staticmethod
    def _frozen_is(expected: str) -> Callable[[str], bool]:
        def check(text: str) -> bool:
            return any(line == f"frozen {expected}" for line in text.splitlines())

        return check

    async def freeze(self, timeout: float = 10.0) -> None:
        _write(self._file("cgroup.freeze"), "1")
        await _wait_events_file(self._file("cgroup.events"), self._frozen_is("1"), timeout)

    async def thaw(self, timeout: float = 10.0) -> None:
        _write(self._file("cgroup.freeze"), "0")
        await _wait_events_file(self._file("cgroup.events"), self._frozen_is("0"), timeout)

    def is_frozen(self) -> bool:
        return _read(self._file("cgroup.freeze")).strip() == "1"

    def pids(self) -> list[int]:
        return _read_pids(self._file("cgroup.procs"))

    def cpu_usage(self) -> CpuUsage:
        stat = _read_keyed(self._file("cpu.stat"))
        return CpuUsage(
            stat.get("usage_usec", 0) * 1000,
            stat.get("user_usec", 0) * 1000,
            stat.get("system_usec", 0) * 1000,
        )

    def memory_usage(self) -> MemoryUsage:
        usage = _read_int(self._file("memory.current")) or 0
        # memory.peak exists from Linux 5.19; before, the highest value seen
        peak = _read_int(self._file("memory.peak"))
        self._peak_seen = max(self._peak_seen, usage, peak or 0)
        inactive = _read_keyed(self._file("memory.stat")).get("inactive_file", 0)
        return MemoryUsage(usage, self._peak_seen, max(usage - inactive, 0))

    def kill_all(self) -> None:
        path = self._file("cgroup.kill")  # Linux 5.14+: atomic, no fork races
        if os.path.exists(path):
            _write(path, "1")
        else:
            super().kill_all()
