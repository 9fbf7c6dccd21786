"""HCS errors, bad input caught before HCS, timeouts and cancellation at
each await point (the emulator's fault injection makes operations slow)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import pytest

import hcsaio
from hcsaio import errors
from hcsaio.compute._service import modify_service_settings_raw
from hcsaio.schema import SchemaError

from .conftest import host_document, unique_id

pytestmark = pytest.mark.anyio


@pytest.fixture
async def slow() -> AsyncIterator[object]:
    """Make named emulator operations take this many seconds."""

    async def set_delays(**delays: float) -> None:
        await modify_service_settings_raw(
            json.dumps({"PropertyType": "EmulatorFaults", "Settings": {"Delays": delays}})
        )

    yield set_delays
    await modify_service_settings_raw(
        json.dumps({"PropertyType": "EmulatorFaults", "Settings": {}})
    )


# ---- HCS errors -------------------------------------------------------------


async def test_duplicate_id_is_system_already_exists(new_system) -> None:
    system = await new_system()
    with pytest.raises(errors.SystemAlreadyExists) as info:
        await hcsaio.create_compute_system(system.id, host_document())
    assert info.value.hresult == 0x8037010F
    assert info.value.id == system.id
    assert info.value.operation == "HcsCreateComputeSystem"


async def test_unknown_id_is_system_not_found() -> None:
    with pytest.raises(errors.SystemNotFound) as info:
        await hcsaio.open_compute_system(unique_id("missing"))
    assert errors.is_not_exist(info.value)


async def test_start_twice_is_invalid_state(new_system) -> None:
    system = await new_system()
    with pytest.raises(errors.InvalidState) as info:
        await system.start()
    assert errors.is_operation_invalid_state(info.value)


async def test_virtual_machine_document_needs_hyper_v() -> None:
    doc = {"SchemaVersion": {"Major": 2, "Minor": 1}, "VirtualMachine": {"StopOnReset": True}}
    with pytest.raises(errors.HyperVNotInstalled) as info:
        await hcsaio.create_compute_system(unique_id(), doc)
    assert info.value.hresult == 0x80370102


async def test_invalid_json_from_hcs_names_the_path() -> None:
    """hcsaio validates documents itself, so HCS's own INVALID_JSON answer is
    reached here by going under the public API's check."""
    from hcsaio._core import _hcs_system as native_system
    from hcsaio._core import _operation
    from hcsaio._core._backend import library

    lib = await library()
    bad = '{"SchemaVersion":{"Major":2,"Minor":1},"Container":{"Memory":{"SizeInMB":"lots"}}}'
    handles = []

    def start(op):
        handles.append(native_system.create(lib.index, unique_id(), bad, op))

    with pytest.raises(errors.InvalidJson) as info:
        await _operation.run(lib, "HcsCreateComputeSystem", start, check=True)
    for handle in handles:
        native_system.close(lib.index, handle)
    assert info.value.hresult == 0x8037010D
    assert "SizeInMB" in str(info.value)


async def test_process_errors_after_exit(new_system) -> None:
    system = await new_system()
    proc = await system.exec("true")
    await proc.wait(timeout=30)
    with pytest.raises(errors.AlreadyStopped):
        await proc.signal("CtrlC")
    await proc.close()


async def test_closed_handle_is_refused_before_hcs(new_system) -> None:
    system = await new_system()
    await system.close()
    with pytest.raises(errors.InvalidHandle, match="closed"):
        await system.start()
    await system.close()  # idempotent


@pytest.mark.parametrize(
    ("call", "resource"),
    [
        (lambda s: s.save({"SaveType": "ToFile", "SaveStateFilePath": "/tmp/x"}), None),
        (lambda s: s.crash({"Type": "CrashGuest"}), None),
        (
            lambda s: s.modify(
                {
                    "ResourcePath": "VirtualMachine/ComputeTopology/Memory/SizeInMB",
                    "RequestType": "Update",
                    "Settings": 512,
                }
            ),
            "SizeInMB",
        ),
    ],
    ids=["save", "crash", "modify"],
)
async def test_what_a_container_host_refuses_is_not_supported(new_system, call, resource) -> None:
    system = await new_system()
    with pytest.raises(errors.NotSupported) as info:
        await call(system)
    assert errors.is_not_supported(info.value)
    if resource:
        assert resource in str(info.value)


async def test_modify_service_settings_validates_and_reports_hcs_errors() -> None:
    with pytest.raises(SchemaError):
        await hcsaio.modify_service_settings({"PropertyType": "NoSuchType"})
    with pytest.raises(errors.HcsError):
        await hcsaio.modify_service_settings({"PropertyType": "CpuGroup", "Settings": {}})


async def test_stopped_system_refuses_processes(new_system) -> None:
    system = await new_system()
    await system.shutdown(timeout=30)
    with pytest.raises(errors.HcsError) as info:
        await system.exec("true")
    assert errors.is_operation_invalid_state(info.value) or errors.is_already_stopped(info.value)


# ---- bad input fails before HCS ---------------------------------------------------


@pytest.mark.parametrize(
    ("bad_id", "exc"),
    [("", ValueError), ("a/b", ValueError), ("x" * 300, ValueError), (42, TypeError)],
)
async def test_bad_ids(bad_id, exc) -> None:
    with pytest.raises(exc):
        await hcsaio.create_compute_system(bad_id, host_document())


async def test_bad_documents_name_the_field() -> None:
    with pytest.raises(SchemaError) as info:
        await hcsaio.create_compute_system(
            unique_id(), {"Container": {"Memory": {"SizeInMB": "lots"}}}
        )
    assert info.value.path == "$.Container.Memory.SizeInMB"
    with pytest.raises(SchemaError, match="Contaner"):
        await hcsaio.create_compute_system(unique_id(), {"Contaner": {}})
    with pytest.raises(ValueError, match="JSON"):
        await hcsaio.create_compute_system(unique_id(), "{not json")
    with pytest.raises(TypeError):
        await hcsaio.create_compute_system(unique_id(), 12)


async def test_bad_process_arguments(new_system) -> None:
    system = await new_system()
    with pytest.raises(ValueError, match="argv"):
        await system.exec()
    with pytest.raises(TypeError):
        await system.exec("echo", 5)
    with pytest.raises(ValueError, match="stdout"):
        await system.exec("echo", stdout=7)
    with pytest.raises(ValueError, match="environment"):
        await system.exec("echo", env={"A=B": "c"})
    with pytest.raises(ValueError, match="timeout"):
        await system.start(timeout=-1)


# ---- timeouts and cancellation at every await point ------------------------------


async def test_timeout_on_start_cancels_and_names_the_operation(new_system, slow) -> None:
    system = await new_system(start=False)
    await slow(Start=5)
    with pytest.raises(hcsaio.HcsTimeoutError) as info:
        await system.start(timeout=0.2)
    err = info.value
    assert isinstance(err, TimeoutError)
    assert "HcsStartComputeSystem" in str(err) and system.id in str(err)
    assert err.waited is not None and 0.2 <= err.waited < 5
    assert hcsaio.pending_operations() == []


async def test_timeout_on_create_leaks_no_handle(slow) -> None:
    await slow(Create=5)
    system_id = unique_id()
    with pytest.raises(hcsaio.HcsTimeoutError):
        await hcsaio.create_compute_system(system_id, host_document(), timeout=0.2)
    assert hcsaio.pending_operations() == []


STEPS = [
    "CreateProcess",
    "GetProperties",
    "Pause",
    "Resume",
    "Shutdown",
    "Terminate",
    "Enumerate",
    "SignalProcess",
    "GetProcessProperties",
    "ModifyProcess",
    "OpenProcess",
]


@pytest.mark.parametrize("step", STEPS)
async def test_timeout_at_each_operation(new_system, slow, step: str) -> None:
    system = await new_system()
    proc = await system.exec("sleep", "1000", stdin=hcsaio.PIPE)
    if step == "Resume":
        await system.pause(timeout=30)
    # open_process waits on the new handle's GetProcessProperties.
    fault = {"OpenProcess": "GetProcessProperties"}.get(step, step)
    await slow(**{fault: 5})
    calls = {
        "CreateProcess": lambda: system.exec("true", timeout=0.2),
        "GetProperties": lambda: system.properties(timeout=0.2),
        "Pause": lambda: system.pause(timeout=0.2),
        "Resume": lambda: system.resume(timeout=0.2),
        "Shutdown": lambda: system.shutdown(timeout=0.2),
        "Terminate": lambda: system.terminate(timeout=0.2),
        "Enumerate": lambda: hcsaio.enumerate_compute_systems(ids=[system.id], timeout=0.2),
        "SignalProcess": lambda: proc.signal("CtrlC", timeout=0.2),
        "GetProcessProperties": lambda: proc.properties(timeout=0.2),
        "ModifyProcess": lambda: proc.resize_console(80, 24, timeout=0.2),
        "OpenProcess": lambda: system.open_process(proc.pid, timeout=0.2),
    }
    with pytest.raises(hcsaio.HcsTimeoutError) as info:
        await calls[step]()
    assert info.value.waited is not None
    assert hcsaio.pending_operations() == []
    await slow()
    proc.kill()
    await proc.wait(timeout=30)
    await proc.close()


async def test_enclosing_deadline_and_task_cancel(new_system, slow) -> None:
    system = await new_system()
    await slow(GetProperties=5)
    with anyio.move_on_after(0.2) as scope:
        await system.properties()
    assert scope.cancelled_caught
    async with anyio.create_task_group() as tg:
        tg.start_soon(system.properties)
        await anyio.sleep(0.1)
        tg.cancel_scope.cancel()
    assert hcsaio.pending_operations() == []


async def test_wait_and_communicate_timeouts_keep_partial_output(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sh", "-c", "echo first; sleep 1; echo second", stdout=PIPE_)
    with pytest.raises(hcsaio.HcsTimeoutError) as info:
        await proc.communicate(timeout=0.5)
    assert "communicate" in str(info.value)
    out, _ = await proc.communicate(timeout=30)
    assert out == b"first\nsecond\n"
    with pytest.raises(hcsaio.HcsTimeoutError):
        await (await system.exec("sleep", "1000")).wait(timeout=0.1)
    await proc.close()


async def test_run_timeout_kills_the_process(new_system) -> None:
    system = await new_system()
    with pytest.raises(hcsaio.HcsTimeoutError):
        await system.run("sleep", "1000", timeout=0.3)
    assert [p for p in await system.process_list() if p.image_name.endswith("sleep")] == []


PIPE_ = hcsaio.PIPE
