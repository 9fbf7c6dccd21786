"""Containers for the emulator-based benchmarks, through hcsaio's public API.

As root the emulator runs real containers (pid/mount/uts/ipc namespaces, an
overlayfs root on a base layer built once from the host, a cgroup each):
"namespace" mode. Otherwise it runs host processes in their own process
group: "host" mode. Every benchmark reports which one it measured, and picks
the matching raw baseline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import hcsaio
from hcsaio.schema import container_document


def privileged() -> bool:
    """Whether the emulator runs real containers here: root, unless the
    service is told to use host processes (``HCSAIO_EMULATOR_MODE=host``)."""
    forced_host = os.environ.get("HCSAIO_EMULATOR_MODE", "auto").strip().lower() == "host"
    return sys.platform.startswith("linux") and os.geteuid() == 0 and not forced_host


def mode() -> str:
    return "namespace" if privileged() else "host"


def base_layer() -> Path:
    """The shared base layer (built on first use, like the examples' one)."""
    from hcsaio.emulator.runtimes._baselayer import make_base_layer

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hcsaio" / "base-layer"
    make_base_layer(str(cache))  # quick when already built
    return cache


class Scratch:
    """Fresh scratch directories for containers, removed at the end."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hcsaio-bench-scratch-"))
        self.count = 0

    def new(self) -> Path:
        self.count += 1
        path = self.root / str(self.count)
        path.mkdir()
        return path

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def scratch_space() -> Iterator[Scratch]:
    scratch = Scratch()
    try:
        yield scratch
    finally:
        scratch.close()


def document(scratch: Scratch, layer: Path | None, owner: str = "hcsaio-bench") -> Any:
    """A ComputeSystem document for the current mode."""
    if layer is None:
        return {"SchemaVersion": {"Major": 2, "Minor": 1}, "Owner": owner, "Container": {}}
    return container_document(layers=[layer], scratch_dir=scratch.new(), owner=owner)


@contextlib.asynccontextmanager
async def container(
    name: str, scratch: Scratch, layer: Path | None, *, timeout: float = 60
) -> AsyncIterator[hcsaio.Container]:
    """A started container, terminated and closed on exit."""
    c = await hcsaio.create_compute_system(
        name, document(scratch, layer), terminate_on_exit=True, timeout=timeout
    )
    async with c:
        await c.start(timeout=timeout)
        yield c


def service_pid() -> int | None:
    """The private emulator service's pid, once it runs (for its memory)."""
    from hcsaio.emulator import _launcher

    private = getattr(_launcher, "_private", None)
    return None if private is None else private.process.pid
