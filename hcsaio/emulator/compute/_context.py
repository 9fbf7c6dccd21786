"""What every request handler may reach: systems, faults, settings."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..._version import __version__
from ..runtimes import _watchdog
from ..runtimes._runtime_select import ServiceMode
from ..wire._protocol import PROTOCOL_VERSION
from ._faults import Faults
from ._registry import SystemRegistry

DEFAULT_SHUTDOWN_GRACE = 10.0


@dataclass
class ServiceContext:
    mode: ServiceMode
    request_stop: Callable[[], None]
    registry: SystemRegistry = field(default_factory=SystemRegistry)
    faults: Faults = field(default_factory=Faults)
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE
    started: float = field(default_factory=time.monotonic)
    clients: Callable[[], int] = lambda: 0

    def hello_document(self) -> str:
        return json.dumps(
            {"Service": "hcsemu", "Version": __version__, "Pid": os.getpid(), "Mode": self.mode}
        )

    def status(self) -> dict[str, object]:
        """The emulator-only ``EmulatorStatus`` service property."""
        systems = list(self.registry)
        return {
            "Pid": os.getpid(),
            "Version": __version__,
            "ProtocolVersion": PROTOCOL_VERSION,
            "Mode": self.mode,
            "Root": os.geteuid() == 0,
            "UptimeSeconds": round(time.monotonic() - self.started, 3),
            "Clients": self.clients(),
            "Systems": len(systems),
            "Processes": sum(
                1 for s in systems for p in s.processes.values() if not p.exited.is_set()
            ),
            "Faults": self.faults.status(),
            "WatchdogPid": watchdog.pid if (watchdog := _watchdog.current()) else None,
        }
