"""The end-to-end suite, once per backend: the emulator here and now, a real
Windows HCS (nanoserver/servercore layers) with --hcs-live."""

from __future__ import annotations

import anyio
import pytest

import hcsaio
from hcsaio import PIPE, STDOUT
from hcsaio.errors import is_not_exist

from .backends import Backend
from .conftest import NewSystem, unique_id

pytestmark = pytest.mark.anyio


async def test_service_supports_schema_2_1(backend: Backend) -> None:
    props = await hcsaio.service_properties()
    assert props.properties is not None
    (basic,) = props.properties
    versions = {(v["Major"], v["Minor"]) for v in basic["SupportedSchemaVersions"]}
    assert (2, 1) in versions


async def test_create_start_run_shutdown(backend: Backend, new_system: NewSystem) -> None:
    system = await new_system()
    props = await system.properties()
    assert props.id == system.id
    assert props.state == "Running"
    result = await system.run(*backend.shell(sh="echo hi", cmd="echo hi"), capture_output=True)
    assert result.returncode == 0
    assert result.stdout is not None
    assert backend.lines(result.stdout) == [b"hi"]
    await system.shutdown(timeout=120)
    status = await system.wait(timeout=60)
    assert status.exit_type != "UnexpectedExit"
    assert (await system.properties()).state == "Stopped"
    await system.close()
    assert system.closed


async def test_exit_code_and_merged_stderr(backend: Backend, new_system: NewSystem) -> None:
    system = await new_system()
    argv = backend.shell(
        sh="echo out; echo err >&2; exit 3",
        cmd="echo out& echo err 1>&2& exit /b 3",
    )
    proc = await system.exec(*argv, stdout=PIPE, stderr=STDOUT)
    out, err = await proc.communicate(timeout=120)
    assert err is None
    assert out is not None
    assert sorted(backend.lines(out)) == [b"err", b"out"]
    assert proc.returncode == 3
    await proc.close()


async def test_stdin_reaches_the_process(backend: Backend, new_system: NewSystem) -> None:
    system = await new_system()
    # cmd's `set /p` reads one line of stdin; sh's `read` likewise.
    argv = backend.shell(sh='read line; echo "got $line"', cmd="set /p line=& call echo got %line%")
    proc = await system.exec(*argv, stdin=PIPE, stdout=PIPE)
    out, _ = await proc.communicate(b"ping\r\n" if backend.is_windows else b"ping\n", timeout=120)
    assert out is not None
    assert backend.lines(out)[-1] == b"got ping"
    assert proc.returncode == 0
    await proc.close()


async def test_wait_times_out_then_kill_stops_the_process(
    backend: Backend, new_system: NewSystem
) -> None:
    system = await new_system()
    proc = await system.exec(*backend.sleep(60))
    with pytest.raises(hcsaio.HcsTimeoutError):
        await proc.wait(timeout=0.5)
    assert proc.returncode is None
    proc.kill()
    assert await proc.wait(timeout=60) != 0
    await proc.close()
    assert hcsaio.pending_operations() == []


async def test_events_end_with_system_exited(backend: Backend, new_system: NewSystem) -> None:
    system = await new_system()
    events = system.events()
    await system.terminate(timeout=120)
    with anyio.fail_after(60):
        seen = [event async for event in events]
    assert isinstance(seen[-1], hcsaio.SystemExited)
    assert (await system.wait(timeout=10)).exit_type == "ForcedExit"


async def test_enumerate_and_open_by_id(backend: Backend, new_system: NewSystem) -> None:
    system = await new_system()
    found = await hcsaio.enumerate_compute_systems(ids=[system.id])
    assert [p.id for p in found] == [system.id]
    other = await hcsaio.open_compute_system(system.id)
    try:
        assert (await other.properties()).state == "Running"
    finally:
        await other.close()


async def test_missing_system_is_not_exist(backend: Backend) -> None:
    with pytest.raises(hcsaio.HcsError) as info:
        await hcsaio.open_compute_system(unique_id("missing"))
    assert is_not_exist(info.value)
