"""Pause/resume through the freezer, Shutdown/Terminate, statistics, process
lists, and the chain of lifetimes (service -> shim -> init -> namespace)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hcsaio.emulator.runtimes._runtime import MappedDirectory, ProcessSpec, Stdio
from hcsaio.emulator.runtimes._runtime_ns import NamespaceRuntime

from .conftest import (
    DEFAULT_ENV,
    MakeRuntime,
    exists,
    read_all,
    read_text,
    run,
    sh,
    spawn_piped,
)

pytestmark = [pytest.mark.privileged, pytest.mark.asyncio]

COUNTER = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.01; done"


async def read_some(fd: int, timeout: float) -> bytes | None:
    """Whatever arrives on a pipe within ``timeout``; None if nothing does."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[bytes] = loop.create_future()

    def on_readable() -> None:
        if not arrived.done():
            arrived.set_result(os.read(fd, 65536))

    loop.add_reader(fd, on_readable)
    try:
        async with asyncio.timeout(timeout):
            return await arrived
    except TimeoutError:
        return None
    finally:
        loop.remove_reader(fd)


async def test_pause_freezes_and_resume_thaws(container: NamespaceRuntime) -> None:
    proc, out_r, err_r = await spawn_piped(container, ["sh", "-c", COUNTER])
    os.set_blocking(out_r, False)
    assert await read_some(out_r, 10) is not None  # it counts
    await container.pause()
    assert container.cgroup is not None and container.cgroup.is_frozen()
    # what was written before the freeze completed may still be in the pipe
    while await read_some(out_r, 0.05) is not None:
        pass
    assert await read_some(out_r, 0.5) is None  # nothing for half a second: frozen
    # the shim still answers while the container is frozen
    listed = await container.process_list()
    assert proc.pid in {p["ProcessId"] for p in listed}
    await container.resume()
    resumed = await read_some(out_r, 10)
    assert resumed is not None
    proc.signal(signal.SIGKILL)
    async with asyncio.timeout(10):
        assert await proc.wait() == 128 + signal.SIGKILL
    os.close(out_r)
    os.close(err_r)


async def test_stop_while_paused(container: NamespaceRuntime) -> None:
    proc, out_r, err_r = await spawn_piped(container, ["sleep", "1000"])
    await container.pause()
    async with asyncio.timeout(30):
        await container.stop(grace=5)
        assert await proc.wait() == 128 + signal.SIGTERM
    os.close(out_r)
    os.close(err_r)


async def test_graceful_stop_lets_processes_exit(container: NamespaceRuntime) -> None:
    proc, out_r, err_r = await spawn_piped(
        container,
        ["sh", "-c", 'trap "echo bye; exit 3" TERM; echo up; while :; do sleep 0.05; done'],
    )
    assert await asyncio.to_thread(os.read, out_r, 10) == b"up\n"
    started = time.monotonic()
    async with asyncio.timeout(30):
        await container.stop(grace=20)
        out, _, code = await asyncio.gather(read_all(out_r), read_all(err_r), proc.wait())
    assert time.monotonic() - started < 10  # returned when idle, not after the grace period
    assert (code, out) == (3, b"bye\n")
    assert not container.running
    with pytest.raises(RuntimeError):
        await run(container, ["true"])


async def test_graceful_stop_waits_for_orphans(make_runtime: MakeRuntime, tmp_path: Path) -> None:
    """An orphan that outlives its parent (re-parented to init) still counts:
    the container is idle only once it has finished by itself."""
    out = tmp_path / "out"
    out.mkdir()
    rt = await make_runtime(mapped_directories=(MappedDirectory(str(out), "/out"),))
    proc, out_r, err_r = await spawn_piped(
        rt,
        [
            "sh",
            "-c",
            '(trap "" TERM; echo orphan-ready; sleep 0.5; echo done > /out/marker) 2>&1 & '
            'trap "exit 0" TERM; echo up; while :; do sleep 0.05; done',
        ],
    )
    seen = b""
    while seen.count(b"\n") < 2:  # both ready: the orphan-to-be ignores SIGTERM
        seen += await asyncio.to_thread(os.read, out_r, 100)
    assert sorted(seen.split()) == [b"orphan-ready", b"up"]
    started = time.monotonic()
    async with asyncio.timeout(30):
        await rt.stop(grace=20)
        assert await proc.wait() == 0
    elapsed = time.monotonic() - started
    assert 0.3 < elapsed < 10
    assert read_text(out / "marker") == "done\n"  # finished, not killed
    os.close(out_r)
    os.close(err_r)


async def test_stop_kills_what_ignores_sigterm_after_the_grace(container: NamespaceRuntime) -> None:
    proc, out_r, err_r = await spawn_piped(
        container, ["sh", "-c", 'trap "" TERM; echo up; while :; do sleep 0.05; done']
    )
    assert await asyncio.to_thread(os.read, out_r, 10) == b"up\n"
    started = time.monotonic()
    async with asyncio.timeout(30):
        await container.stop(grace=0.5)
        code = await proc.wait()
    assert time.monotonic() - started >= 0.5
    assert code == 128 + signal.SIGKILL
    os.close(out_r)
    os.close(err_r)


async def test_terminate_kills_everything_including_orphans(container: NamespaceRuntime) -> None:
    r = await sh(
        container, "(sleep 1000 & sleep 1000 & setsid sleep 1000 &) >/dev/null 2>&1; echo started"
    )
    assert r.text == "started\n"
    busy, out_r, err_r = await spawn_piped(container, ["sleep", "1000"])
    assert container.cgroup is not None
    members = container.cgroup.pids()
    assert len(members) >= 5
    async with asyncio.timeout(30):
        await container.stop(grace=None)
        assert await busy.wait() == 128 + signal.SIGKILL
    for pid in members:
        assert not exists(f"/proc/{pid}") or _is_unrelated(pid)
    assert container.cgroup.pids() == []
    os.close(out_r)
    os.close(err_r)


def _is_unrelated(pid: int) -> bool:
    """A recycled pid belongs to another process: not one of ours."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return "hcsaio" not in f.read()
    except FileNotFoundError:
        return True


async def test_stop_and_destroy_are_idempotent(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime()
    await rt.stop(grace=1)
    await rt.stop(grace=None)
    await rt.destroy()
    await rt.destroy()
    never_started = await make_runtime(start=False)
    await never_started.destroy()
    with pytest.raises(RuntimeError):
        await never_started.start()


async def test_destroy_a_running_container(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime()
    proc, out_r, err_r = await spawn_piped(rt, ["sleep", "1000"])
    async with asyncio.timeout(30):
        await rt.destroy()
        assert await proc.wait() == 128 + signal.SIGKILL
    assert rt.shim_pid is None
    os.close(out_r)
    os.close(err_r)


async def test_a_dying_init_stops_the_container(container: NamespaceRuntime) -> None:
    assert container.init_host_pid is not None
    proc, out_r, err_r = await spawn_piped(container, ["sleep", "1000"])
    os.kill(container.init_host_pid, signal.SIGKILL)
    async with asyncio.timeout(10):
        await container.wait_stopped()
        assert await proc.wait() == 128 + signal.SIGKILL
    assert not container.running
    os.close(out_r)
    os.close(err_r)


async def test_statistics(container: NamespaceRuntime) -> None:
    r = await run(container, ["python3", "-c", "x = bytearray(30 << 20); sum(range(20_000_000))"])
    assert r.code == 0, r.err
    stats = await container.statistics()
    assert set(stats) == {
        "Timestamp", "ContainerStartTime", "Uptime100ns", "Processor", "Memory",
    }  # fmt: skip
    assert isinstance(stats["Timestamp"], str) and stats["Timestamp"].endswith("Z")
    assert isinstance(stats["Uptime100ns"], int) and stats["Uptime100ns"] > 0
    cpu = stats["Processor"]
    mem = stats["Memory"]
    assert isinstance(cpu, dict) and isinstance(mem, dict)
    assert cpu["TotalRuntime100ns"] > 1_000_000  # the loop takes well over 100 ms
    assert cpu["RuntimeUser100ns"] > 0
    assert mem["MemoryUsageCommitPeakBytes"] >= 30 << 20
    assert mem["MemoryUsageCommitBytes"] <= mem["MemoryUsageCommitPeakBytes"]


async def test_process_list(container: NamespaceRuntime) -> None:
    proc, out_r, err_r = await spawn_piped(
        container,
        [
            "python3",
            "-c",
            "import time; x = bytearray(20 << 20); print(1, flush=True); time.sleep(1000)",
        ],
    )
    assert await asyncio.to_thread(os.read, out_r, 10) == b"1\n"
    listed = await container.process_list()
    by_pid = {p["ProcessId"]: p for p in listed}
    assert set(by_pid) == {1, proc.pid}  # init and ours; never the shim
    assert by_pid[1]["ImageName"] == "hcsemu-init"
    mine = by_pid[proc.pid]
    assert mine["ImageName"].startswith("python3")
    assert mine["MemoryWorkingSetPrivateBytes"] >= 20 << 20
    assert mine["MemoryCommitBytes"] >= 20 << 20
    assert mine["MemoryWorkingSetSharedBytes"] > 0
    assert isinstance(mine["CreateTimestamp"], str)
    assert mine["UserTime100ns"] >= 0
    proc.signal(signal.SIGKILL)
    await proc.wait()
    os.close(out_r)
    os.close(err_r)


async def test_memory_limit_is_enforced_by_the_kernel(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(memory_mb=64)
    r = await run(
        rt, ["python3", "-c", "x = bytearray(256 << 20); x[::4096] = b'1' * len(x[::4096])"]
    )
    assert r.code == 128 + signal.SIGKILL  # the OOM killer picked it
    # the container survives its process being OOM-killed
    assert (await run(rt, ["python3", "-c", "x = bytearray(16 << 20)"])).code == 0
    assert rt.running


async def test_cpu_limits_reach_the_cgroup(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(processor_count=1, processor_weight=2500)
    cg = rt.cgroup
    assert cg is not None
    files = {}
    for directory in cg.paths:
        for name in (
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.shares",
            "cpu.max",
            "cpu.weight",
        ):
            path = Path(directory, name)
            if exists(path):
                files[name] = read_text(path).strip()
    if cg.version == 1:
        assert files["cpu.cfs_quota_us"] == "100000"
        assert files["cpu.cfs_period_us"] == "100000"
        assert files["cpu.shares"] == "512"
    else:
        assert files["cpu.max"] == "100000 100000"
        assert files["cpu.weight"] == "50"


SERVICE = textwrap.dedent(
    """
    import asyncio, os, sys
    from hcsaio.emulator.runtimes._runtime import ContainerSpec, ProcessSpec, Stdio
    from hcsaio.emulator.runtimes._runtime_ns import NamespaceRuntime

    async def main():
        rt = NamespaceRuntime(ContainerSpec(system_id="orphaned", layers=(sys.argv[1],),
                                            scratch=sys.argv[2]), shim=sys.argv[3])
        await rt.start()
        p = await rt.spawn(ProcessSpec(argv=("sleep", "1000"), env={"PATH": "/usr/bin:/bin"}),
                           Stdio(None, None, None))
        print(rt.shim_pid, rt.init_host_pid, p.host_pid, *rt.cgroup.paths, flush=True)
        await asyncio.sleep(1000)

    asyncio.run(main())
    """
)


async def test_nothing_outlives_the_service(base_layer: Path, shim: str, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    mounts_before = read_text("/proc/self/mountinfo")
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVICE, str(base_layer), str(scratch), shim,
        stdout=subprocess.PIPE,
        env={**os.environ, "HCSAIO_SHIM_STANDBY": "0"},  # only cgroups we know of are left
    )  # fmt: skip
    assert service.stdout is not None
    async with asyncio.timeout(30):
        line = (await service.stdout.readline()).decode().split()
    pids = [int(x) for x in line[:3]]
    cgroups = line[3:]
    service.kill()  # no cleanup code runs
    await service.wait()
    async with asyncio.timeout(10):
        while any(_alive(pid) for pid in pids):
            await asyncio.sleep(0.01)
    assert read_text("/proc/self/mountinfo") == mounts_before
    # the cgroups stay behind (nobody was left to remove them); the next
    # service's sweep would remove them, here the test does
    for path in reversed(cgroups):
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(path)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


async def test_process_exit_is_reported_even_when_immediate(container: NamespaceRuntime) -> None:
    procs = [
        await container.spawn(ProcessSpec(argv=("true",), env=DEFAULT_ENV), Stdio(None, None, None))
        for _ in range(20)
    ]
    async with asyncio.timeout(30):
        codes = await asyncio.gather(*(p.wait() for p in procs))
    assert codes == [0] * 20
