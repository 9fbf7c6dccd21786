"""Which runtime runs a compute system.

``auto``: a Container document with storage layers, in a service running as
root, gets a real Linux container (``_runtime_ns``); everything else runs
on the host (``_runtime_host``). ``host`` forces the host runtime. When a
document asked for layers but gets the host runtime, the reason is recorded
and shown in the system's properties (``EmulatorNote``).
"""

from __future__ import annotations

import importlib
import os
from typing import Literal

from ._runtime import ContainerSpec, Runtime
from ._runtime_host import create_host_runtime

ServiceMode = Literal["auto", "host"]
NAMESPACE_MODULE = "hcsaio.emulator.runtimes._runtime_ns"


async def choose_runtime(spec: ContainerSpec, mode: ServiceMode) -> tuple[Runtime, str | None]:
    """The runtime for ``spec`` and, if it is not the one the document
    implies, why."""
    note = None
    if spec.layers:
        if mode == "host":
            note = "the service runs with --mode host: storage layers are not mounted"
        elif os.geteuid() != 0:
            note = "the service is not root: storage layers are not mounted (host mode)"
        else:
            try:
                module = importlib.import_module(NAMESPACE_MODULE)
            except ModuleNotFoundError as err:
                if err.name != NAMESPACE_MODULE:
                    raise
                note = "the namespace runtime is not installed: storage layers are not mounted"
            else:
                runtime: Runtime = await module.create_namespace_runtime(spec)
                return runtime, None
    return await create_host_runtime(spec), note
