"""cgroup logic that needs no privileges: the limits mapping, detection of
v1/hybrid/v2 layouts, and v2 setup against a fake cgroupfs tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcsaio.emulator.cgroups._cgroups import (
    CgroupError,
    CgroupHost,
    CgroupMount,
    Limits,
    V1Cgroup,
    V2Cgroup,
    compute_limits,
    parse_mountinfo,
    parse_proc_cgroup,
    safe_name,
    v1_settings,
    v1_shares,
    v2_settings,
    v2_weight,
)


def limits(**kw: int | None) -> Limits:
    args: dict[str, int | None] = {
        "memory_mb": None,
        "processor_count": None,
        "processor_maximum": None,
        "processor_weight": None,
    }
    args.update(kw)
    return compute_limits(host_cpus=4, **args)  # type: ignore[arg-type]


def test_no_limits() -> None:
    assert limits() == Limits()
    assert v1_settings(Limits()) == []
    assert v2_settings(Limits()) == []


def test_memory() -> None:
    lim = limits(memory_mb=64)
    assert lim.memory_bytes == 64 << 20
    assert v1_settings(lim) == [
        ("memory", "memory.limit_in_bytes", str(64 << 20)),
        ("memory", "memory.memsw.limit_in_bytes", str(64 << 20)),
    ]
    assert v2_settings(lim) == [("memory.max", str(64 << 20)), ("memory.swap.max", "0")]


def test_processor_count_is_a_quota() -> None:
    lim = limits(processor_count=2)
    assert lim.cpu_quota_us == 200_000
    assert ("cpu", "cpu.cfs_quota_us", "200000") in v1_settings(lim)
    assert ("cpu", "cpu.cfs_period_us", "100000") in v1_settings(lim)
    assert v2_settings(lim) == [("cpu.max", "200000 100000")]
    # as many CPUs as the host has: no cap at all
    assert limits(processor_count=4).cpu_quota_us is None
    assert limits(processor_count=64).cpu_quota_us is None


def test_processor_maximum_is_a_share_of_the_whole_host() -> None:
    assert limits(processor_maximum=5000).cpu_quota_us == 200_000  # half of 4 CPUs
    assert limits(processor_maximum=100).cpu_quota_us == 4_000
    assert limits(processor_maximum=1).cpu_quota_us == 1_000  # the kernel's minimum
    assert limits(processor_maximum=10_000).cpu_quota_us is None


def test_the_tighter_of_count_and_maximum_wins() -> None:
    assert limits(processor_count=1, processor_maximum=5000).cpu_quota_us == 100_000
    assert limits(processor_count=3, processor_maximum=2500).cpu_quota_us == 100_000


def test_weight_keeps_the_default_in_the_middle() -> None:
    assert v1_shares(5000) == 1024
    assert v2_weight(5000) == 100
    assert v1_shares(10_000) == 2048
    assert v2_weight(10_000) == 200
    assert v1_shares(1) == 2  # clamped to the kernel's range
    assert v2_weight(1) == 1
    assert v1_shares(2500) == 512
    assert v2_weight(2500) == 50
    lim = limits(processor_weight=2500)
    assert v1_settings(lim) == [("cpu", "cpu.shares", "512")]
    assert v2_settings(lim) == [("cpu.weight", "50")]
    assert limits(processor_weight=0).cpu_weight is None  # 0 = the default


@pytest.mark.parametrize(
    "kw",
    [
        {"memory_mb": -1},
        {"processor_maximum": 10_001},
        {"processor_weight": 10_001},
        {"processor_count": -2},
    ],
)
def test_out_of_range(kw: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must"):
        limits(**kw)


HYBRID_MOUNTINFO = r"""
25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:13 - cgroup cgroup rw,memory
35 30 0:31 / /sys/fs/cgroup/freezer rw,nosuid shared:14 - cgroup cgroup rw,freezer
36 30 0:32 / /sys/fs/cgroup/systemd rw,nosuid shared:15 - cgroup cgroup rw,xattr,name=systemd
"""
HYBRID_CGROUP = """\
12:memory:/user.slice/session-1.scope
11:cpu,cpuacct:/user.slice
6:freezer:/
1:name=systemd:/user.slice/session-1.scope
0::/user.slice/session-1.scope
"""
V2_MOUNTINFO = r"""
25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
29 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:9 - cgroup2 cgroup2 rw,nsdelegate
"""
V2_CGROUP = "0::/system.slice/hcsaio.service\n"


def test_hybrid_layout_uses_v1() -> None:
    host = CgroupHost.from_texts(HYBRID_MOUNTINFO, HYBRID_CGROUP)
    assert host.version == 1
    assert host.v1["cpu"].mountpoint == "/sys/fs/cgroup/cpu,cpuacct"
    assert host.v1["cpu"] is host.v1["cpuacct"]
    assert host.v2 is not None and host.v2.mountpoint == "/sys/fs/cgroup/unified"
    assert "systemd" not in host.v1
    cg = V1Cgroup(host, "c1", None)
    # nested under the service's own cgroup of each hierarchy; co-mounted once
    assert cg.paths == [
        "/sys/fs/cgroup/memory/user.slice/session-1.scope/hcsaio/c1",
        "/sys/fs/cgroup/cpu,cpuacct/user.slice/hcsaio/c1",
        "/sys/fs/cgroup/freezer/hcsaio/c1",
    ]
    assert cg.shim_args() == [a for p in cg.paths for a in ("--cgroup", f"{p}/cgroup.procs")]
    assert V1Cgroup(host, "c2", "/custom").paths[0] == "/sys/fs/cgroup/memory/custom/c2"


def test_pure_v2_layout() -> None:
    host = CgroupHost.from_texts(V2_MOUNTINFO, V2_CGROUP)
    assert host.version == 2
    assert host.v1 == {}
    cg = V2Cgroup(host, "c1", None)
    assert cg.paths == ["/sys/fs/cgroup/hcsaio/c1"]
    assert cg.shim_args() == ["--cgroup-v2", "/sys/fs/cgroup/hcsaio/c1"]
    assert V2Cgroup(host, "c1", "/a/b").paths == ["/sys/fs/cgroup/a/b/c1"]


def test_no_cgroups_at_all() -> None:
    with pytest.raises(CgroupError):
        CgroupHost.from_texts("25 1 254:0 / / rw - ext4 /dev/vda rw\n", "")


def test_mount_roots_and_escapes() -> None:
    text = r"40 30 0:30 /docker/abc /sys/fs/cgroup/mem\040ory rw - cgroup cgroup rw,memory" + "\n"
    [mount] = parse_mountinfo(text)
    assert mount == CgroupMount("/sys/fs/cgroup/mem ory", "/docker/abc", 1, frozenset({"memory"}))
    host = CgroupHost.from_texts(text, "4:memory:/docker/abc/inner\n")
    assert host.own_path("memory") == "/inner"
    host = CgroupHost.from_texts(text, "4:memory:/elsewhere\n")
    assert host.own_path("memory") == "/"


def test_parse_proc_cgroup() -> None:
    assert parse_proc_cgroup(HYBRID_CGROUP)["cpuacct"] == "/user.slice"
    assert parse_proc_cgroup(HYBRID_CGROUP)[""] == "/user.slice/session-1.scope"


def test_safe_name() -> None:
    assert safe_name("a/b c") == "a_b_c"
    assert safe_name("..hidden") == "hidden"
    assert safe_name("") == "system"
    assert len(safe_name("x" * 500)) == 180


def _fake_v2_tree(root: Path, available: str = "cpuset cpu io memory pids") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text(available + "\n")
    (root / "cgroup.subtree_control").write_text("")


def test_v2_setup_on_a_fake_tree(tmp_path: Path) -> None:
    """The v2 logic: delegate controllers down from the root, then write the
    limits (a real cgroupfs creates the leaf's files; here they exist)."""
    _fake_v2_tree(tmp_path)
    _fake_v2_tree(tmp_path / "hcsaio")
    leaf = tmp_path / "hcsaio" / "c1"
    leaf.mkdir()
    for name in ("memory.max", "memory.swap.max", "cpu.max", "cpu.weight"):
        (leaf / name).write_text("")
    host = CgroupHost(version=2, v2=CgroupMount(str(tmp_path), "/", 2))
    cg = V2Cgroup(host, "c1", None)
    cg.create(compute_limits(memory_mb=32, processor_count=1, processor_maximum=None,
                             processor_weight=10_000, host_cpus=2))  # fmt: skip
    assert (leaf / "memory.max").read_text() == str(32 << 20)
    assert (leaf / "memory.swap.max").read_text() == "0"
    assert (leaf / "cpu.max").read_text() == "100000 100000"
    assert (leaf / "cpu.weight").read_text() == "200"
    # each ancestor delegates the controllers, one write each: "+cpu", then
    # "+memory" (the fake file keeps the last)
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory"
    assert (tmp_path / "hcsaio" / "cgroup.subtree_control").read_text() == "+memory"


def test_v2_missing_controller_is_an_error(tmp_path: Path) -> None:
    _fake_v2_tree(tmp_path, available="pids")
    host = CgroupHost(version=2, v2=CgroupMount(str(tmp_path), "/", 2))
    cg = V2Cgroup(host, "c1", "/")
    with pytest.raises(CgroupError, match="memory"):
        cg.create(Limits(memory_bytes=1 << 20))
    assert not (tmp_path / "c1").exists()  # nothing left behind


def test_v2_statistics_from_files(tmp_path: Path) -> None:
    leaf = tmp_path / "c1"
    leaf.mkdir()
    (leaf / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")
    (leaf / "memory.current").write_text("4096\n")
    (leaf / "memory.peak").write_text("8192\n")
    (leaf / "memory.stat").write_text("anon 2048\ninactive_file 1024\n")
    (leaf / "cgroup.procs").write_text("7\n9\n")
    host = CgroupHost(version=2, v2=CgroupMount(str(tmp_path), "/", 2))
    cg = V2Cgroup(host, "c1", "/")
    cpu = cg.cpu_usage()
    assert (cpu.total_ns, cpu.user_ns, cpu.kernel_ns) == (1_500_000, 1_000_000, 500_000)
    mem = cg.memory_usage()
    assert (mem.usage, mem.peak, mem.working_set) == (4096, 8192, 3072)
    assert cg.pids() == [7, 9]
