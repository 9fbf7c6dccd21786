"""hcsaio: an asyncio-native client for the Windows Host Compute Service.

::

    import hcsaio
    from hcsaio.schema import container_document

    doc = container_document(owner="demo", layers=[...], scratch="/tmp/scratch")
    async with await hcsaio.create_compute_system("demo-1", doc, terminate_on_exit=True) as c:
        await c.start(timeout=30)
        result = await c.run("echo", "hi", capture_output=True, check=True)
        print(result.stdout)

Layers: the public classes here sit on ``hcsaio._native`` (the bindings, the
only code touching cffi) and the compiled callback bridge ``hcsaio._bridge``,
which turns HCS callbacks into awaitables without a thread per wait. On
Windows the backend is computecore.dll; on Linux, the bundled HCS emulator.
Works on asyncio (and uvloop) and, through anyio, on trio.
"""

from . import errors, schema
from ._core._capabilities import Capabilities, capabilities
from ._core._diagnostics import PendingOperation, pending_operations
from ._version import __version__
from .compute._events import (
    CrashInitiated,
    CrashReport,
    Event,
    GuestConnectionClosed,
    ProcessExited,
    RdpEnhancedModeStateChanged,
    ServiceDisconnected,
    SiloJobCreated,
    SystemExited,
    UnknownEvent,
)
from .compute._process import Process
from .compute._run import DEVNULL, PIPE, STDOUT, CompletedProcess
from .compute._service import modify_service_settings, service_properties
from .compute._stdio import PipeReader, PipeWriter
from .compute._system import (
    Container,
    create_compute_system,
    enumerate_compute_systems,
    open_compute_system,
)
from .errors import HcsError, HcsTimeoutError, ProcessExitError

__all__ = [
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "Capabilities",
    "CompletedProcess",
    "Container",
    "CrashInitiated",
    "CrashReport",
    "Event",
    "GuestConnectionClosed",
    "HcsError",
    "HcsTimeoutError",
    "PendingOperation",
    "PipeReader",
    "PipeWriter",
    "Process",
    "ProcessExitError",
    "ProcessExited",
    "RdpEnhancedModeStateChanged",
    "ServiceDisconnected",
    "SiloJobCreated",
    "SystemExited",
    "UnknownEvent",
    "__version__",
    "capabilities",
    "create_compute_system",
    "enumerate_compute_systems",
    "errors",
    "modify_service_settings",
    "open_compute_system",
    "pending_operations",
    "schema",
    "service_properties",
]
