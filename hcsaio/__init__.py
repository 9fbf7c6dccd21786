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

# A deliberate lazy facade (PEP 562), as trio and anyio keep theirs: importing
# ``hcsaio.schema`` or ``hcsaio.emulator`` must not load the client (the bridge,
# the dispatcher, the backend), so that the emulator's independence from the
# client and the schema's from everything else hold at run time, not only in the
# source. Each public name is loaded from its home module on first access.
from typing import TYPE_CHECKING, Any

from ._version import __version__

_LAZY: dict[str, str] = {
    # name: home module (relative to this package)
    "errors": "",
    "schema": "",
    "Capabilities": "._core._capabilities",
    "capabilities": "._core._capabilities",
    "PendingOperation": "._core._diagnostics",
    "pending_operations": "._core._diagnostics",
    "cancel_grace": "._core._grace",
    "default_cancel_grace": "._core._grace",
    "set_default_cancel_grace": "._core._grace",
    "CrashInitiated": ".compute._events",
    "CrashReport": ".compute._events",
    "Event": ".compute._events",
    "GuestConnectionClosed": ".compute._events",
    "ProcessExited": ".compute._events",
    "RdpEnhancedModeStateChanged": ".compute._events",
    "ServiceDisconnected": ".compute._events",
    "SiloJobCreated": ".compute._events",
    "SystemExited": ".compute._events",
    "UnknownEvent": ".compute._events",
    "Process": ".compute._process",
    "DEVNULL": ".compute._run",
    "PIPE": ".compute._run",
    "STDOUT": ".compute._run",
    "CompletedProcess": ".compute._run",
    "modify_service_settings": ".compute._service",
    "service_properties": ".compute._service",
    "PipeReader": ".compute._stdio",
    "PipeWriter": ".compute._stdio",
    "Container": ".compute._system",
    "create_compute_system": ".compute._system",
    "enumerate_compute_systems": ".compute._system",
    "open_compute_system": ".compute._system",
    "HcsError": ".errors",
    "HcsTimeoutError": ".errors",
    "ProcessExitError": ".errors",
}

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
    "cancel_grace",
    "capabilities",
    "create_compute_system",
    "default_cancel_grace",
    "enumerate_compute_systems",
    "errors",
    "modify_service_settings",
    "open_compute_system",
    "pending_operations",
    "schema",
    "service_properties",
    "set_default_cancel_grace",
]


def __getattr__(name: str) -> Any:
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module 'hcsaio' has no attribute {name!r}")
    import importlib

    if home == "":
        value: Any = importlib.import_module(f".{name}", __name__)
    else:
        value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # the static view: what each name is, for mypy and IDEs
    from . import errors as errors
    from . import schema as schema
    from ._core._capabilities import Capabilities as Capabilities
    from ._core._capabilities import capabilities as capabilities
    from ._core._diagnostics import PendingOperation as PendingOperation
    from ._core._diagnostics import pending_operations as pending_operations
    from ._core._grace import cancel_grace as cancel_grace
    from ._core._grace import default_cancel_grace as default_cancel_grace
    from ._core._grace import set_default_cancel_grace as set_default_cancel_grace
    from .compute._events import CrashInitiated as CrashInitiated
    from .compute._events import CrashReport as CrashReport
    from .compute._events import Event as Event
    from .compute._events import GuestConnectionClosed as GuestConnectionClosed
    from .compute._events import ProcessExited as ProcessExited
    from .compute._events import RdpEnhancedModeStateChanged as RdpEnhancedModeStateChanged
    from .compute._events import ServiceDisconnected as ServiceDisconnected
    from .compute._events import SiloJobCreated as SiloJobCreated
    from .compute._events import SystemExited as SystemExited
    from .compute._events import UnknownEvent as UnknownEvent
    from .compute._process import Process as Process
    from .compute._run import DEVNULL as DEVNULL
    from .compute._run import PIPE as PIPE
    from .compute._run import STDOUT as STDOUT
    from .compute._run import CompletedProcess as CompletedProcess
    from .compute._service import modify_service_settings as modify_service_settings
    from .compute._service import service_properties as service_properties
    from .compute._stdio import PipeReader as PipeReader
    from .compute._stdio import PipeWriter as PipeWriter
    from .compute._system import Container as Container
    from .compute._system import create_compute_system as create_compute_system
    from .compute._system import enumerate_compute_systems as enumerate_compute_systems
    from .compute._system import open_compute_system as open_compute_system
    from .errors import HcsError as HcsError
    from .errors import HcsTimeoutError as HcsTimeoutError
    from .errors import ProcessExitError as ProcessExitError
