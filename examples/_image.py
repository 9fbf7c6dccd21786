"""Where the examples get a container image from.

On Linux the backend is hcsaio's HCS emulator. As root it runs real
containers (namespaces, overlayfs, cgroups) on a base layer built once from
the host into ~/.cache/hcsaio; otherwise it runs the processes on the host
in their own session (a process-isolated container without a root fs).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hcsaio.schema import container_document, v2


def _can_run_real_containers() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0


def base_layer() -> Path:
    from hcsaio.emulator.runtimes._baselayer import make_base_layer

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hcsaio" / "base-layer"
    make_base_layer(str(cache))  # quick when already built
    return cache


@contextmanager
def container_image(
    owner: str = "hcsaio-example", **options: object
) -> Iterator[v2.ComputeSystem | dict]:
    """A ComputeSystem document for a new container, with a fresh scratch."""
    if not _can_run_real_containers():
        yield {"SchemaVersion": {"Major": 2, "Minor": 1}, "Owner": owner, "Container": {}}
        return
    with tempfile.TemporaryDirectory(prefix="hcsaio-scratch-") as scratch:
        yield container_document(layers=[base_layer()], scratch_dir=scratch, owner=owner, **options)
