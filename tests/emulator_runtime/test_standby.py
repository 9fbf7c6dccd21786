"""Standby shims (cgroup v1): a container takes a shim that has already
joined a fresh cgroup; dead standbys are skipped; leftovers of dead services
are swept."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import pytest

from hcsaio.emulator.cgroups._cgroups import CgroupHost, V1Cgroup
from hcsaio.emulator.runtimes import _shim_launch
from hcsaio.emulator.runtimes._shim_launch import close_standby_shims, settle, standby_pool

from .conftest import MakeRuntime, exists, read_text, run

pytestmark = pytest.mark.privileged


@pytest.fixture(autouse=True)
def _v1_only() -> None:
    if CgroupHost.detect().version != 1:
        pytest.skip("standby shims are for cgroup v1 (v2 clones into the cgroup)")


def _memory_limit(paths: list[str]) -> str:
    memory = next(p for p in paths if "/memory/" in p)
    return read_text(Path(memory, "memory.limit_in_bytes")).strip()


@pytest.mark.asyncio
async def test_a_container_takes_a_standby_shim(make_runtime: MakeRuntime, shim: str) -> None:
    close_standby_shims()
    first = await make_runtime()  # none ready yet: started afresh, and a standby made
    settle()
    pool = standby_pool(shim, CgroupHost.detect(), None)
    assert pool is not None
    standby = pool._ready[0]
    assert all(os.path.basename(p).startswith("standby-") for p in standby.cgroup.paths)
    second = await make_runtime(memory_mb=96)
    assert second.shim_pid == standby.pid
    assert second.cgroup is not None
    # renamed after its container, as a fresh one is named
    names = {os.path.basename(p) for p in second.cgroup.paths}
    assert len(names) == 1 and names.pop().startswith(second.spec.system_id)
    assert _memory_limit(second.cgroup.paths) == str(96 << 20)  # limits applied on taking
    r = await run(second, ["sh", "-c", "hostname; cat /proc/self/cgroup"])
    lines = r.text.splitlines()
    assert lines[0] == second.spec.system_id
    assert sum(second.spec.system_id in line for line in lines[1:]) >= 4
    assert second.shim_pid in second.cgroup.pids()  # v1: the shim is a member
    assert second.shim_pid not in {p["ProcessId"] for p in await second.process_list()}
    assert first.running


@pytest.mark.asyncio
async def test_a_dead_standby_is_skipped(make_runtime: MakeRuntime, shim: str) -> None:
    close_standby_shims()
    await make_runtime()
    settle()
    pool = standby_pool(shim, CgroupHost.detect(), None)
    assert pool is not None
    standby = pool._ready[0]
    os.kill(standby.pid, signal.SIGKILL)
    async with asyncio.timeout(10):  # dead (a zombie until the pool reaps it)
        while read_text(f"/proc/{standby.pid}/stat").rsplit(") ", 1)[1][0] != "Z":
            await asyncio.sleep(0.005)
    rt = await make_runtime()
    assert (await run(rt, ["true"])).code == 0
    assert rt.shim_pid != standby.pid
    settle()
    assert not any(exists(p) for p in standby.cgroup.paths)


@pytest.mark.asyncio
async def test_disabled_standby(make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    close_standby_shims()
    monkeypatch.setenv("HCSAIO_SHIM_STANDBY", "0")
    for _ in range(2):
        rt = await make_runtime()
        assert rt.cgroup is not None
        assert not any("/standby-" in p for p in rt.cgroup.paths)
    assert _shim_launch._pools == {}


def test_stale_cgroups_of_dead_services_are_swept() -> None:
    host = CgroupHost.detect()
    dead = subprocess.Popen(["true"])
    dead.wait()
    probe = V1Cgroup(host, f"gone-{dead.pid}-1", None)
    mine = V1Cgroup(host, f"live-{os.getpid()}-999999", None)
    for path in probe.paths + mine.paths:
        os.makedirs(path)
    try:
        _shim_launch._sweep(host, None)
        assert not any(os.path.exists(p) for p in probe.paths)
        assert all(os.path.exists(p) for p in mine.paths)  # a live service's
    finally:
        for path in probe.paths + mine.paths:
            if os.path.exists(path):
                os.rmdir(path)


def test_alive_with_a_descriptor_above_fd_setsize() -> None:
    """A busy service holds thousands of fds; checking a shim's pidfd must not
    depend on its number (select() refuses numbers above 1023)."""
    import fcntl
    import resource

    from hcsaio.emulator.runtimes._shim_launch import Launched

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"the fd limit ({hard}) is too low to place a descriptor above 1024")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), hard))
    child = subprocess.Popen(["sleep", "30"])
    pidfd = os.pidfd_open(child.pid)
    high = fcntl.fcntl(pidfd, fcntl.F_DUPFD, 2048)
    os.close(pidfd)
    try:
        launched = Launched(child.pid, high, sock=None, cgroup=None)  # type: ignore[arg-type]
        assert launched.alive()
        child.kill()
        child.wait(timeout=30)
        assert not launched.alive()
    finally:
        os.close(high)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
