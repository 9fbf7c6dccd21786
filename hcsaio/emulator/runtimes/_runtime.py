"""The contract between the emulator service and the things that run processes.

The service (``_service.py``) owns HCS semantics: ids, handles, the state
machine, HRESULTs, events. A *runtime* owns the operating system side of one
compute system: where its processes run and how they are confined. Two
runtimes implement this protocol:

* ``HostRuntime`` (``_runtime_host.py``): processes on the host, each in its
  own session and process group; used without privileges or when the
  document has no storage layers (a "job container"/process-isolation-lite);
* ``NamespaceRuntime`` (``_runtime_ns.py``): a real Linux container: pid,
  mount, uts and ipc namespaces entered by the ``hcsemu-shim`` helper, an
  overlayfs root from the layer folders, bind-mounted mapped directories,
  a cgroup with the document's limits, the freezer for pause.

The service never imports a runtime's internals, only this module, so the
two runtimes can be tested against the same contract.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


class RuntimeMode(enum.Enum):
    HOST = "host"
    NAMESPACE = "namespace"


@dataclass(frozen=True)
class MappedDirectory:
    host_path: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """What a runtime needs from a ``Container`` compute-system document."""

    system_id: str
    layers: tuple[str, ...] = ()  # layer folders, topmost first (HCS order)
    scratch: str | None = None  # writable folder (overlay upper + work)
    mapped_directories: tuple[MappedDirectory, ...] = ()
    hostname: str | None = None
    memory_mb: int | None = None  # Container.Memory.SizeInMB
    processor_count: int | None = None  # Container.Processor.Count
    processor_maximum: int | None = None  # Container.Processor.Maximum (1..10000 = % x 100)
    processor_weight: int | None = None  # Container.Processor.Weight (0..10000)


@dataclass(frozen=True)
class ProcessSpec:
    """What a runtime needs from ``ProcessParameters`` (already parsed)."""

    argv: tuple[str, ...]  # CommandArgs, or CommandLine split by CommandLineToArgvW rules
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    user: str | None = None  # name or uid[:gid]; resolved inside the container
    tty: bool = False  # EmulateConsole
    console_size: tuple[int, int] | None = None  # (height, width)


@dataclass(frozen=True)
class Stdio:
    """The child's ends of its standard streams, as fds the runtime dups into
    place (it must not close them; the service does). ``None`` means
    /dev/null. With a tty all three are the pty slave (from
    ``Runtime.open_console``)."""

    stdin: int | None
    stdout: int | None
    stderr: int | None


class SpawnedProcess(Protocol):
    @property
    def pid(self) -> int:
        """The pid as seen inside the compute system (HCS ProcessId)."""

    @property
    def host_pid(self) -> int:
        """The pid on the host (for signals, /proc and statistics)."""

    async def wait(self) -> int:
        """Wait for exit; returns the exit code (128 + signal if killed)."""

    def signal(self, signum: int) -> None:
        """Deliver a signal to the process's group (every spawned process
        leads its own session and group, so a shell's children get it too);
        a process that already exited is not an error, and is not signalled."""


class Runtime(Protocol):
    mode: RuntimeMode

    async def start(self) -> None:
        """Prepare the compute system (rootfs, cgroup, namespaces). Raises
        ``RuntimeError`` with a human message on failure."""

    async def spawn(self, spec: ProcessSpec, stdio: Stdio) -> SpawnedProcess:
        """Start a process. ``FileNotFoundError``/``PermissionError`` for a
        missing or non-executable program, ``ValueError`` for bad specs."""

    async def open_console(self) -> tuple[int, int]:
        """A new pseudo-terminal for an ``EmulateConsole`` process: ``(master,
        slave)``, both close-on-exec, owned by the caller. The slave must be
        a terminal the process can name where it runs (``ttyname``: a
        container's processes see their own /dev/pts, not the host's), and
        is what ``spawn`` then gets as all three ``Stdio`` fds. Raises
        ``RuntimeError``/``OSError`` when none can be opened."""

    async def pause(self) -> None: ...

    async def resume(self) -> None: ...

    async def statistics(self) -> dict[str, object]:
        """HCS ``Statistics`` shape (wire names): Timestamp, ContainerStartTime,
        Uptime100ns, Processor{TotalRuntime100ns, RuntimeUser100ns,
        RuntimeKernel100ns}, Memory{MemoryUsageCommitBytes,
        MemoryUsageCommitPeakBytes, MemoryUsagePrivateWorkingSetBytes}."""

    async def process_list(self) -> list[dict[str, object]]:
        """HCS ``ProcessDetails`` entries (wire names): ProcessId, ImageName,
        CreateTimestamp, UserTime100ns, KernelTime100ns, MemoryCommitBytes,
        MemoryWorkingSetPrivateBytes, MemoryWorkingSetSharedBytes."""

    async def stop(self, *, grace: float | None) -> None:
        """Stop everything: with ``grace`` SIGTERM, wait up to ``grace``
        seconds, then SIGKILL; with ``None`` SIGKILL at once. Returns when
        every process of the system is gone."""

    async def destroy(self) -> None:
        """Release every OS resource (mounts, cgroups, shim). Idempotent."""

    async def wait_stopped(self) -> None:
        """Return once the compute system has stopped: after ``stop`` (or
        ``destroy``) finished, or as soon as it died on its own (a namespace
        container whose init was killed). The service waits on it from Start
        on and reports an ``UnexpectedExit`` when the system stopped without
        being asked to; a runtime whose systems cannot die on their own (the
        host runtime) returns only after ``stop``/``destroy``."""


RuntimeFactory = Callable[[ContainerSpec], Awaitable[Runtime]]
