"""Hundreds of containers come and go without leaving mounts, cgroups, file
descriptors or processes behind."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from hcsaio.emulator.cgroups._cgroups import CgroupHost
from hcsaio.emulator.runtimes._runtime import ContainerSpec, ProcessSpec, Stdio
from hcsaio.emulator.runtimes._runtime_ns import NamespaceRuntime
from hcsaio.emulator.runtimes._shim_launch import close_standby_shims

from .conftest import DEFAULT_ENV

pytestmark = [pytest.mark.privileged, pytest.mark.asyncio]


def snapshot(cgroup_parents: list[Path]) -> dict[str, object]:
    # the standby shim (and its cgroup) is replaced by every container start
    close_standby_shims()
    return {
        "mounts": Path("/proc/self/mountinfo").read_text().splitlines(),
        "fds": sorted(os.listdir("/proc/self/fd")),
        "children": _children(),
        # ours only: other services on this host have containers too
        "cgroups": sorted(
            str(p)
            for parent in cgroup_parents
            if parent.exists()
            for p in parent.iterdir()
            if p.is_dir() and f"-{os.getpid()}-" in p.name
        ),
    }


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        if fields[1] == me:
            found.append(int(entry))
    return sorted(found)


def cgroup_parents() -> list[Path]:
    host = CgroupHost.detect()
    if host.version == 2:
        assert host.v2 is not None
        return [Path(host.v2.mountpoint, "hcsaio")]
    return [
        Path(host.v1[c].mountpoint, host.own_path(c).strip("/"), "hcsaio")
        for c in ("memory", "cpu", "cpuacct", "freezer")
        if c in host.v1
    ]


async def one_container(i: int, base_layer: Path, shim: str, tmp: Path) -> None:
    scratch = tmp / f"s{i}"
    scratch.mkdir()
    rt = NamespaceRuntime(
        ContainerSpec(
            system_id=f"leak-{i}", layers=(str(base_layer),), scratch=str(scratch), memory_mb=256
        ),
        shim=shim,
    )
    try:
        await rt.start()
        r, w = os.pipe()
        try:
            proc = await rt.spawn(
                ProcessSpec(argv=("sh", "-c", "echo $$; sleep 0.001 & true"), env=DEFAULT_ENV),
                Stdio(None, w, None),
            )
        finally:
            os.close(w)
        assert await proc.wait() == 0
        assert os.read(r, 100).strip().isdigit()
        os.close(r)
        await rt.stop(grace=5 if i % 2 else None)
    finally:
        await rt.destroy()


async def test_two_hundred_containers_leave_nothing_behind(
    base_layer: Path, shim: str, tmp_path: Path
) -> None:
    parents = cgroup_parents()
    # warm up (first-use allocations in the loop, imports) before the baseline
    await one_container(-1, base_layer, shim, tmp_path)
    before = snapshot(parents)
    started = time.monotonic()
    async with asyncio.timeout(600):
        for i in range(200):
            await one_container(i, base_layer, shim, tmp_path)
    elapsed = time.monotonic() - started
    after = snapshot(parents)
    assert after == before
    print(f"200 containers sequentially: {elapsed:.2f} s ({elapsed / 200 * 1000:.1f} ms each)")


async def test_concurrent_containers_leave_nothing_behind(
    base_layer: Path, shim: str, tmp_path: Path
) -> None:
    parents = cgroup_parents()
    await one_container(-1, base_layer, shim, tmp_path)
    before = snapshot(parents)
    async with asyncio.timeout(600):
        for batch in range(4):
            await asyncio.gather(
                *(
                    one_container(1000 + batch * 25 + i, base_layer, shim, tmp_path)
                    for i in range(25)
                )
            )
    assert snapshot(parents) == before
