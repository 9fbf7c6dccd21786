"""The cgroup v2 code path for real, on hosts whose v2 hierarchy has no
controllers (the hybrid layout's /sys/fs/cgroup/unified): clone3 into the
cgroup, the v2 freezer with its event file, cgroup.procs, cpu.stat and
cgroup.kill all work without controllers. Limits need controllers, so they
are covered by the unit tests only."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from hcsaio.emulator.cgroups._cgroups import CgroupHost, CgroupMount, V2Cgroup
from hcsaio.emulator.runtimes._shim_launch import settle

from .conftest import MakeRuntime, exists, read_text, run, spawn_piped

pytestmark = [pytest.mark.privileged, pytest.mark.asyncio]


def unified_host() -> CgroupHost:
    host = CgroupHost.detect()
    if host.version == 2:
        return host  # a pure v2 host: the real thing
    if host.v2 is None:
        pytest.skip("no cgroup2 hierarchy is mounted")
    return CgroupHost(version=2, v2=CgroupMount(host.v2.mountpoint, host.v2.root, 2), own=host.own)


async def test_container_on_cgroup_v2(make_runtime: MakeRuntime) -> None:
    host = unified_host()
    parent = f"/hcsaio-test-{os.getpid()}"
    rt = await make_runtime(cgroup_host=host, cgroup_parent=parent)
    cg = rt.cgroup
    assert isinstance(cg, V2Cgroup)
    proc, out_r, err_r = await spawn_piped(rt, ["sh", "-c", "cat /proc/self/cgroup; sleep 1000"])
    first = await asyncio.to_thread(os.read, out_r, 4096)
    # created inside the cgroup by clone3(CLONE_INTO_CGROUP); the shim is not a member
    assert f"0::{parent}/" in first.decode()
    members = cg.pids()
    assert proc.host_pid in members
    assert rt.shim_pid not in members
    await rt.pause()
    events = Path(cg.paths[0], "cgroup.events")
    assert "frozen 1" in read_text(events)
    await rt.resume()
    assert "frozen 0" in read_text(events)
    assert cg.cpu_usage().total_ns > 0
    r = await run(rt, ["true"])
    assert r.code == 0
    await rt.stop(grace=None)
    assert await proc.wait() == 128 + signal.SIGKILL
    await rt.destroy()
    settle()  # the empty cgroup is removed in the background
    assert not exists(cg.paths[0])
    os.rmdir(Path(host.v2.mountpoint if host.v2 else "/", parent.strip("/")))
    os.close(out_r)
    os.close(err_r)
