"""The fake computecore (tests/native/fakecore.c) loaded as an hcsaio library."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cffi
import pytest

from hcsaio._core import _hcs_process as native_process
from hcsaio._core import _hcs_system as native_system
from hcsaio._core import _operation
from hcsaio._core._backend import load_library
from hcsaio._native.handles import Handle
from hcsaio._native.library import Library

_CONTROL_CDEF = """
uint32_t fake_release(void);
int32_t fake_emit_events(void *handle, uint32_t threads, uint32_t per_thread, int32_t type,
                         const char16_t *data, int32_t detach);
long fake_live_operations(void);
long fake_live_handles(void);
long fake_strings_outstanding(void);
long fake_completions_fired(void);
long fake_double_closes(void);
"""


@dataclass
class Fake:
    library: Library
    control: Any
    ffi: cffi.FFI

    async def create_system(self, script: str = "") -> Handle:
        done = await _operation.run(
            self.library,
            "HcsCreateComputeSystem",
            lambda op: native_system.create(self.library.index, "fake", script, op),
            check=True,
        )
        return done.started

    def start(self, system: Handle, script: str | None) -> Callable[[Handle], None]:
        """A start function for _operation.run: a scripted HcsStartComputeSystem."""

        def start(op: Handle) -> None:
            native_system.call(
                "HcsStartComputeSystem", self.library.index, system, op, script, id="fake"
            )

        return start

    def create_process(self, system: Handle, script: str) -> Callable[[Handle], Handle]:
        def start(op: Handle) -> Handle:
            return native_process.create(self.library.index, system, script, op, id="fake")

        return start

    def live(self) -> tuple[int, int, int]:
        """(operations, handles, returned strings) the caller still owns.
        Closing anything twice is a bug this double reports at once."""
        c = self.control
        assert c.fake_double_closes() == 0, "an operation was closed twice"
        return (c.fake_live_operations(), c.fake_live_handles(), c.fake_strings_outstanding())


FLAVOURS = [
    pytest.param(("asyncio", {}, "eventfd"), id="asyncio-eventfd"),
    pytest.param(("asyncio", {}, "socket"), id="asyncio-socket"),
    pytest.param(("asyncio", {"use_uvloop": True}, "eventfd"), id="uvloop-eventfd"),
    pytest.param(("trio", {}, "socket"), id="trio-socket"),
]


@pytest.fixture(params=FLAVOURS)
def anyio_backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, Any]]:
    """Every bridge test runs on each event loop flavour and wake-up strategy."""
    name, options, wake = request.param
    monkeypatch.setenv("HCSAIO_WAKEUP", wake)
    return name, options


@pytest.fixture(scope="session")
def fake(fakecore_path: Path) -> Fake:
    ffi = cffi.FFI()
    ffi.cdef(_CONTROL_CDEF)
    control = ffi.dlopen(str(fakecore_path))
    return Fake(load_library(str(fakecore_path)), control, ffi)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def settle(fake: Fake, expected: tuple[int, int, int], timeout: float = 5.0) -> None:
    """Wait (bounded) until the fake's live operations/handles/strings equal
    `expected`. A worker thread drops its own reference to an operation just
    after the completion callback returns, which can be a moment after
    Python has closed it, so an instant comparison would race."""
    import anyio

    with anyio.move_on_after(timeout):
        while fake.live() != expected:
            await anyio.sleep(0.005)
    assert fake.live() == expected, "live (operations, handles, strings) never came back"
