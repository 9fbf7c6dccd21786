"""Fixtures of the backend-parameterized end-to-end suite (see backends.py).

Every test taking ``backend`` runs once on the emulator and once on a real
Windows HCS. The Windows runs are marked ``hcs_live``: skipped unless
``--hcs-live`` is given (tests/conftest.py), and then guarded here so that
an opted-in run *fails* on a machine without HCS instead of passing quietly.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

import hcsaio

from .backends import Backend, LiveConfigError, emulator_available, windows_backend

NewSystem = Callable[..., Awaitable[hcsaio.Container]]


def require_windows_hcs() -> Backend:
    """Fail (never skip) unless this process really talks to computecore.dll
    and the image is configured."""
    caps = hcsaio.capabilities()
    if caps.backend != "windows":
        pytest.fail(
            f"--hcs-live needs a Windows host with HCS: this process uses the "
            f"{caps.backend!r} backend ({caps.library})",
            pytrace=False,
        )
    try:
        return windows_backend()
    except LiveConfigError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(autouse=True)
def _live_means_windows(request: pytest.FixtureRequest) -> None:
    """Any hcs_live test in this directory, opted in, runs only against HCS."""
    if request.node.get_closest_marker("hcs_live") is not None:
        require_windows_hcs()


@pytest.fixture(
    params=[
        pytest.param("emulator", id="emulator"),
        pytest.param("windows", id="windows", marks=pytest.mark.hcs_live),
    ]
)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "windows":
        return require_windows_hcs()
    if not emulator_available():
        pytest.skip("the HCS emulator runs on Linux only")
    return Backend("emulator")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def unique_id(prefix: str = "live") -> str:
    return f"hcsaio-{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def new_system(backend: Backend) -> AsyncIterator[NewSystem]:
    """Create (and start) compute systems from the backend's document;
    terminate and close whatever a test leaves behind."""
    made: list[hcsaio.Container] = []

    async def make(*, start: bool = True) -> hcsaio.Container:
        system = await hcsaio.create_compute_system(unique_id(), backend.document())
        made.append(system)
        if start:
            await system.start(timeout=120)
        return system

    yield make
    for system in made:
        if not system.closed:
            with contextlib.suppress(hcsaio.HcsError):
                await system.terminate(timeout=60)
            await system.close()
