"""End-to-end fixtures: the real bridge, the default backend (the emulator on
Linux), real processes.

Compute systems come from :func:`new_system`, which picks the document for
the requested mode and terminates and closes whatever a test leaves behind,
so a failing test cannot leak containers into the next one.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import hcsaio
from hcsaio.schema import container_document

ROOT_USER = os.geteuid() == 0 if hasattr(os, "geteuid") else False

NewSystem = Callable[..., Awaitable[hcsaio.Container]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def unique_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def base_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root filesystem built from the host (shell, coreutils, python3)."""
    from hcsaio.emulator.runtimes._baselayer import make_base_layer

    layer = Path(
        os.environ.get("HCSAIO_TEST_BASE_LAYER") or tmp_path_factory.mktemp("base-layer") / "layer"
    )
    make_base_layer(str(layer))
    return layer


def host_document(owner: str = "hcsaio-tests") -> dict[str, Any]:
    """A container without storage: the emulator runs its processes on the
    host, each in its own session (process isolation without a root fs)."""
    return {"SchemaVersion": {"Major": 2, "Minor": 1}, "Owner": owner, "Container": {}}


@pytest.fixture
async def new_system(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[NewSystem]:
    """Create (and by default start) compute systems; tear them all down after."""
    made: list[hcsaio.Container] = []

    async def make(
        *,
        mode: str = "host",
        start: bool = True,
        id: str | None = None,
        owner: str = "hcsaio-tests",
        **document_options: Any,
    ) -> hcsaio.Container:
        if mode == "namespace":
            if not ROOT_USER:
                pytest.skip("real containers need root (CI runs as root)")
            layer = request.getfixturevalue("base_layer")
            scratch = tmp_path / f"scratch-{len(made)}"
            scratch.mkdir()
            document: Any = container_document(
                layers=[layer], scratch_dir=scratch, owner=owner, **document_options
            )
        else:
            document = host_document(owner)
        system = await hcsaio.create_compute_system(id or unique_id(), document)
        made.append(system)
        if start:
            await system.start(timeout=60)
        return system

    yield make
    for system in made:
        if not system.closed:
            with contextlib.suppress(hcsaio.HcsError):
                await system.terminate(timeout=30)
            await system.close()
