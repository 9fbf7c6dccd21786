"""Nothing synchronous on the event loop (issue 12, item 12): opening a system
or a process and the service calls run on the bridge's native workers,
bounded by the caller's timeout, while the loop keeps running.

A *hung* service is a Unix socket that accepts connections and never
answers (a service stuck, or a stale socket some process still listens
on): libhcsemu's handshake then waits. Before, ``open_compute_system`` made
that wait on the event loop for the 30 s handshake timeout, whatever its own
``timeout=`` said."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import hcsaio
from hcsaio import errors
from hcsaio._core._backend import default_library
from hcsaio._native import sync as native_sync

from .conftest import host_document, unique_id

pytestmark = pytest.mark.anyio

ENV_SOCKET = "HCSAIO_EMULATOR_SOCKET"


@pytest.fixture
def hung_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point libhcsemu at a socket that never answers. The real backend is
    loaded first, so its service keeps running for the other tests."""
    default_library()
    path = tmp_path / "hung.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    monkeypatch.setenv(ENV_SOCKET, str(path))
    try:
        yield path
    finally:
        monkeypatch.undo()
        listener.close()


async def _with_heartbeat(call: Callable[[], Awaitable[Any]]) -> tuple[BaseException, int]:
    """Run ``call`` (which must fail) beside a task that counts loop turns."""
    beats = 0
    failure: BaseException | None = None

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            await anyio.sleep(0.02)
            beats += 1

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(heartbeat)
            try:
                await call()
            except Exception as exc:
                failure = exc
            tg.cancel_scope.cancel()
    assert failure is not None, "the call succeeded against a service that never answers"
    return failure, beats


async def _workers_idle() -> None:
    """The abandoned call's worker finishes by itself (libhcsemu got the
    deadline too), so no call outlives its test."""
    with anyio.move_on_after(30):
        while native_sync.stats().busy:
            await anyio.sleep(0.02)
    assert native_sync.stats().busy == 0


async def test_open_compute_system_waits_off_the_loop(hung_service: Path) -> None:
    failure, beats = await _with_heartbeat(
        lambda: hcsaio.open_compute_system(unique_id("hung"), timeout=1)
    )
    assert isinstance(failure, errors.HcsTimeoutError), repr(failure)
    # 1 s of waiting at 20 ms a beat: a blocked loop would count none.
    assert beats >= 10
    await _workers_idle()


async def test_service_properties_waits_off_the_loop(hung_service: Path) -> None:
    failure, beats = await _with_heartbeat(lambda: hcsaio.service_properties(timeout=1))
    assert isinstance(failure, errors.HcsTimeoutError), repr(failure)
    assert beats >= 10
    await _workers_idle()


async def test_modify_service_settings_waits_off_the_loop(hung_service: Path) -> None:
    request = {"PropertyType": "CpuGroup", "Settings": {"Operation": "CreateGroup"}}
    failure, beats = await _with_heartbeat(
        lambda: hcsaio.modify_service_settings(request, timeout=1)
    )
    assert isinstance(failure, errors.HcsTimeoutError), repr(failure)
    assert beats >= 10
    await _workers_idle()


async def test_create_compute_system_connects_off_the_loop(hung_service: Path) -> None:
    """HcsCreateComputeSystem is asynchronous, but libhcsemu connects inline
    when its connection is down (here: a socket it has never used), which
    blocked the loop for the 30 s handshake."""
    failure, beats = await _with_heartbeat(
        lambda: hcsaio.create_compute_system(unique_id("hung"), host_document(), timeout=1)
    )
    assert isinstance(failure, errors.HcsTimeoutError), repr(failure)
    assert beats >= 10
    await _workers_idle()


async def test_enumerate_connects_off_the_loop(hung_service: Path) -> None:
    failure, beats = await _with_heartbeat(lambda: hcsaio.enumerate_compute_systems(timeout=1))
    assert isinstance(failure, errors.HcsTimeoutError), repr(failure)
    assert beats >= 10
    await _workers_idle()


async def test_stopped_service_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on the socket: ServiceNotAvailable, not a timeout."""
    default_library()
    monkeypatch.setenv(ENV_SOCKET, str(tmp_path / "nobody.sock"))
    with pytest.raises(errors.ServiceNotAvailable):
        await hcsaio.open_compute_system(unique_id("stopped"), timeout=30)


async def test_connected_once_used() -> None:
    """After a call, libhcsemu reports its connection up: create and
    enumerate then skip the connect round trip."""
    from hcsaio._native import library as native_library

    lib = default_library()
    await hcsaio.enumerate_compute_systems(timeout=30)
    assert native_library.connected(lib.index) == 1


async def test_service_calls_take_a_timeout() -> None:
    props = await hcsaio.service_properties(timeout=30)
    assert props.properties
    with pytest.raises(ValueError, match="timeout"):
        await hcsaio.service_properties(timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        await hcsaio.modify_service_settings({"PropertyType": "CpuGroup"}, timeout=-1)


async def test_open_paths_still_open(new_system: Any) -> None:
    """The same calls against the live service, through the workers."""
    system = await new_system()
    opened = await hcsaio.open_compute_system(system.id, timeout=30)
    try:
        proc = await system.exec("sleep", "30")
        again = await opened.open_process(proc.pid, timeout=30)
        assert again.pid == proc.pid
        proc.kill()
        assert await again.wait(timeout=30) != 0
        await again.close()
        await proc.close()
    finally:
        await opened.close()


def test_libhcsemu_bounds_its_handshake_by_the_thread_timeout(hung_service: Path) -> None:
    """Below the bridge: libhcsemu's HcsOpenComputeSystem on a hung service
    returns HCS_E_OPERATION_TIMEOUT once this thread's timeout
    (HcsEmuSetCallTimeout, what the bridge's workers set from the caller's
    deadline) runs out, instead of waiting for the fixed 30 s handshake."""
    import cffi

    from hcsaio.emulator import _launcher

    ffi = cffi.FFI()
    ffi.cdef(
        "void HcsEmuSetCallTimeout(uint32_t timeoutMs);"
        "int32_t HcsOpenComputeSystem(const char16_t *id, uint32_t access, void **system);"
    )
    emu = ffi.dlopen(_launcher.library_path())
    out = ffi.new("void **")
    emu.HcsEmuSetCallTimeout(300)
    try:
        hresult = emu.HcsOpenComputeSystem(unique_id("hung"), 0x10000000, out)
    finally:
        emu.HcsEmuSetCallTimeout(0xFFFFFFFF)
    assert hresult & 0xFFFFFFFF == 0x80370118  # HCS_E_OPERATION_TIMEOUT
    assert out[0] == ffi.NULL
