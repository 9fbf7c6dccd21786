"""Compute system lifecycle, properties, enumeration, events, service calls."""

from __future__ import annotations

import anyio
import pytest

import hcsaio
from hcsaio.schema import v2

from .conftest import host_document, unique_id

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["host", "namespace"])
async def test_create_start_run_shutdown_close(new_system, mode: str) -> None:
    system = await new_system(mode=mode)
    props = await system.properties()
    assert props.id == system.id
    assert props.state == "Running"
    result = await system.run("echo", "hello", capture_output=True, check=True)
    assert result.stdout == b"hello\n"
    await system.shutdown(timeout=30)
    status = await system.wait(timeout=5)
    assert status.exit_type == "GracefulExit"
    assert (await system.properties()).state == "Stopped"
    await system.close()
    assert system.closed


async def test_terminate_reports_forced_exit(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sleep", "1000")
    await system.terminate(timeout=30)
    assert (await system.wait(timeout=5)).exit_type == "ForcedExit"
    assert await proc.wait(timeout=10) != 0
    await proc.close()


async def test_shutdown_and_terminate_are_idempotent(new_system) -> None:
    system = await new_system()
    await system.shutdown(timeout=30)
    await system.shutdown(timeout=30)
    await system.terminate(timeout=30)


async def test_created_system_is_not_running_until_started(new_system) -> None:
    system = await new_system(start=False)
    assert (await system.properties()).state == "Created"
    await system.start(timeout=30)
    assert (await system.properties()).state == "Running"


async def test_pause_and_resume_change_state(new_system) -> None:
    system = await new_system()
    await system.pause(timeout=30)
    assert (await system.properties()).state == "Paused"
    await system.resume(timeout=30)
    assert (await system.properties()).state == "Running"


async def test_statistics_and_process_list(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sleep", "1000")
    stats = await system.statistics()
    assert isinstance(stats, v2.Statistics)
    assert stats.uptime100ns >= 0
    pids = [p.process_id for p in await system.process_list()]
    assert proc.pid in pids
    proc.kill()
    await proc.wait(timeout=10)
    await proc.close()


async def test_properties_with_query_forms(new_system) -> None:
    system = await new_system()
    for query in (
        ["Statistics"],
        {"PropertyTypes": ["Statistics"]},
        '{"PropertyTypes":["Statistics"]}',
    ):
        props = await system.properties(query)
        assert props.statistics is not None


async def test_open_second_handle_sees_the_same_system(new_system) -> None:
    system = await new_system()
    other = await hcsaio.open_compute_system(system.id)
    try:
        assert (await other.properties()).id == system.id
        events = other.events()
        await system.terminate(timeout=30)
        seen = [e async for e in events]
        assert isinstance(seen[-1], hcsaio.SystemExited)
        assert (await other.wait(timeout=5)).exit_type == "ForcedExit"
    finally:
        await other.close()


async def test_open_stopped_system_reports_exit_at_once(new_system) -> None:
    system = await new_system()
    await system.shutdown(timeout=30)
    other = await hcsaio.open_compute_system(system.id)
    try:
        status = await other.wait(timeout=5)
        assert status is not None
    finally:
        await other.close()


async def test_events_reach_every_subscriber_and_end_after_exit(new_system) -> None:
    system = await new_system()
    first, second = system.events(), system.events()
    await system.shutdown(timeout=30)

    async def collect(events):
        with anyio.fail_after(10):
            return [e async for e in events]

    got_first, got_second = await collect(first), await collect(second)
    assert [type(e) for e in got_first] == [hcsaio.SystemExited]
    assert got_first == got_second
    assert got_first[0].status.exit_type == "GracefulExit"
    # A late subscriber still learns how it ended.
    assert [type(e) async for e in system.events()] == [hcsaio.SystemExited]


async def test_enumerate_filters_by_ids_owners_and_types(new_system) -> None:
    owner = unique_id("owner")
    a = await new_system(owner=owner)
    b = await new_system(owner=owner, start=False)
    c = await new_system()
    by_owner = {p.id for p in await hcsaio.enumerate_compute_systems(owners=[owner])}
    assert by_owner == {a.id, b.id}
    by_id = await hcsaio.enumerate_compute_systems(ids=[c.id])
    assert [p.id for p in by_id] == [c.id]
    typed = {
        p.id for p in await hcsaio.enumerate_compute_systems(types=["Container"], owners=[owner])
    }
    assert typed == {a.id, b.id}
    everything = {p.id for p in await hcsaio.enumerate_compute_systems()}
    assert {a.id, b.id, c.id} <= everything
    as_query = await hcsaio.enumerate_compute_systems({"Ids": [a.id]})
    assert [p.id for p in as_query] == [a.id]


async def test_service_properties_lists_schema_versions() -> None:
    props = await hcsaio.service_properties()
    (basic,) = props.properties
    versions = {(v["Major"], v["Minor"]) for v in basic["SupportedSchemaVersions"]}
    assert (2, 1) in versions


async def test_async_with_closes_and_can_terminate(new_system) -> None:
    document = host_document()
    async with await hcsaio.create_compute_system(
        unique_id(), document, terminate_on_exit=True
    ) as system:
        await system.start(timeout=30)
        system_id = system.id
    assert system.closed
    (props,) = await hcsaio.enumerate_compute_systems(ids=[system_id]) or [None]
    assert props is None or props.state == "Stopped"


async def test_capabilities_and_pending_operations() -> None:
    caps = hcsaio.capabilities()
    assert caps.backend in ("emulator", "windows", "custom")
    assert caps.exports["HcsCreateComputeSystem"]
    assert hcsaio.pending_operations() == []


async def test_trio_lifecycle_through_anyio() -> None:
    import trio

    async def main() -> bytes:
        system = await hcsaio.create_compute_system(unique_id(), host_document())
        try:
            await system.start(timeout=30)
            result = await system.run("echo", "from trio", capture_output=True, check=True)
            await system.shutdown(timeout=30)
            return result.stdout or b""
        finally:
            await system.close()

    out = await anyio.to_thread.run_sync(trio.run, main)
    assert out == b"from trio\n"
