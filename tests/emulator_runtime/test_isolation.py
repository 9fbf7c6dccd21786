"""A container is really isolated: its own pid 1, hostname, mounts and root."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from hcsaio.emulator.runtimes._runtime import MappedDirectory
from hcsaio.emulator.runtimes._runtime_ns import NamespaceRuntime

from .conftest import MakeRuntime, exists, read_text, run, sh

pytestmark = [pytest.mark.privileged, pytest.mark.asyncio]


def host_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()


async def test_pid_one_is_the_containers_init(container: NamespaceRuntime) -> None:
    r = await sh(container, "echo $$; tr -d '\\0' < /proc/1/cmdline; echo; cat /proc/1/comm")
    pid, cmdline, comm = r.text.splitlines()
    assert r.code == 0, r.err
    assert int(pid) == r.process.pid
    assert 1 < r.process.pid < 10  # a fresh pid namespace
    assert r.process.host_pid != r.process.pid
    assert cmdline == "hcsemu-init"  # no host path leaks through init's arguments
    assert comm == "hcsemu-init"
    assert container.init_host_pid is not None
    status = read_text(f"/proc/{container.init_host_pid}/status").splitlines()
    nspid = next(line for line in status if line.startswith("NSpid:")).split()
    assert nspid[-1] == "1"


async def test_processes_of_the_host_are_invisible(container: NamespaceRuntime) -> None:
    r = await run(container, ["ls", "/proc"])
    pids = sorted(int(p) for p in r.text.split() if p.isdigit())
    assert pids[0] == 1
    assert len(pids) <= 3  # init, ls, perhaps a not yet reaped zombie


async def test_hostname_is_the_containers(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(hostname="box-one")
    r = await run(rt, ["cat", "/proc/sys/kernel/hostname"])
    assert r.text.strip() == "box-one"
    assert socket.gethostname() != "box-one"


async def test_hostname_defaults_to_the_system_id(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(system_id="named-after-id")
    r = await run(rt, ["cat", "/proc/sys/kernel/hostname"])
    assert r.text.strip() == "named-after-id"


async def test_ipc_namespace_is_private(container: NamespaceRuntime) -> None:
    host_ipc = os.readlink("/proc/self/ns/ipc")
    r = await run(container, ["readlink", "/proc/self/ns/ipc"])
    assert r.text.strip() != host_ipc


async def test_root_is_the_overlay_and_writes_land_in_scratch(
    make_runtime: MakeRuntime, tmp_path: Path, base_layer: Path
) -> None:
    scratch = tmp_path / "scratch-own"
    scratch.mkdir()
    rt = await make_runtime(scratch=str(scratch))
    r = await sh(rt, "echo written > /hello && cat /hello && rm /etc/hosts && ls /etc")
    assert r.code == 0, r.err
    assert r.text.splitlines()[0] == "written"
    assert "hosts" not in r.text.split()
    assert (scratch / "upper" / "hello").read_text() == "written\n"
    assert (base_layer / "etc" / "hosts").exists()  # the layer is never written
    assert not (base_layer / "hello").exists()


async def test_layers_stack_topmost_first(
    make_runtime: MakeRuntime, tmp_path: Path, base_layer: Path
) -> None:
    top = tmp_path / "top-layer"
    (top / "etc").mkdir(parents=True)
    (top / "etc" / "motd").write_text("from the top layer\n")
    rt = await make_runtime(layers=(str(top), str(base_layer)))
    r = await run(rt, ["cat", "/etc/motd"])
    assert r.text == "from the top layer\n"


async def test_devices_proc_and_sys(container: NamespaceRuntime) -> None:
    r = await sh(
        container,
        "head -c 8 /dev/urandom | wc -c; echo x > /dev/null && echo null-ok; "
        "test -c /dev/zero && echo zero-ok; test -d /dev/pts && echo pts-ok; "
        "test -e /sys/kernel && echo sys-ok; touch /sys/x 2>/dev/null || echo sys-ro; "
        "test -d /dev/shm && echo shm-ok",
    )
    assert r.text.split() == ["8", "null-ok", "zero-ok", "pts-ok", "sys-ok", "sys-ro", "shm-ok"]


async def test_mounts_are_invisible_outside(container: NamespaceRuntime) -> None:
    before = host_mounts()
    r = await sh(
        container,
        "mkdir -p /mnt/t && mount -t tmpfs inner-tmpfs /mnt/t && echo data > /mnt/t/f "
        "&& grep -c inner-tmpfs /proc/self/mountinfo",
    )
    assert r.code == 0, r.err
    assert r.text.strip() == "1"
    after = host_mounts()
    assert not [m for m in after if "inner-tmpfs" in m]
    # neither the container's root nor its /proc, /dev, ... show on the host
    assert after == before


async def test_host_mount_table_is_unchanged_after_destroy(make_runtime: MakeRuntime) -> None:
    before = host_mounts()
    rt = await make_runtime()
    await sh(rt, "mount -t tmpfs x /tmp")
    await rt.stop(grace=None)
    await rt.destroy()
    assert host_mounts() == before


async def test_mapped_directories(make_runtime: MakeRuntime, tmp_path: Path) -> None:
    rw = tmp_path / "rw"
    rw.mkdir()
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "given").write_text("from the host\n")
    single = tmp_path / "single.txt"
    single.write_text("one file\n")
    rt = await make_runtime(
        mapped_directories=(
            MappedDirectory(str(rw), "/data/rw"),
            MappedDirectory(str(ro), "C:\\data\\ro", read_only=True),  # Windows form works
            MappedDirectory(str(single), "/etc/single.txt", read_only=True),
        )
    )
    r = await sh(
        rt,
        "echo out > /data/rw/made; cat /data/ro/given; "
        "echo no > /data/ro/nope 2>/dev/null || echo ro-refused; cat /etc/single.txt",
    )
    assert r.text.splitlines() == ["from the host", "ro-refused", "one file"]
    assert (rw / "made").read_text() == "out\n"
    assert not (ro / "nope").exists()


async def test_mapped_directory_cannot_escape_through_an_image_symlink(
    make_runtime: MakeRuntime, tmp_path: Path, base_layer: Path
) -> None:
    """Symlinks in the image resolve inside the container's root while the
    mounts are set up, so nothing is created or mounted on the host's paths."""
    host_dir = tmp_path / "host-target"
    host_dir.mkdir()
    evil = tmp_path / "evil-layer"
    evil.mkdir()
    (evil / "to-tmp").symlink_to("/tmp")  # exists in the image and on the host
    (evil / "to-host").symlink_to(host_dir)  # exists on the host only
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "marker").write_text("m")
    sub = f"sub-{os.getpid()}"
    rt = await make_runtime(
        layers=(str(evil), str(base_layer)),
        mapped_directories=(MappedDirectory(str(shared), f"/to-tmp/{sub}"),),
    )
    r = await run(rt, ["cat", f"/tmp/{sub}/marker"])
    assert r.text == "m"  # landed in the container's /tmp
    assert not exists(Path("/tmp", sub))  # not the host's
    rt = await make_runtime(
        start=False,
        layers=(str(evil), str(base_layer)),
        mapped_directories=(MappedDirectory(str(shared), "/to-host/sub"),),
    )
    with pytest.raises(RuntimeError, match="/to-host/sub"):
        await rt.start()
    assert list(host_dir.iterdir()) == []


async def test_start_fails_with_a_message_for_a_missing_layer(
    make_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = await make_runtime(start=False, layers=(str(tmp_path / "nope"),))
    with pytest.raises(RuntimeError, match="does not exist"):
        await rt.start()


async def test_start_reports_mount_errors(make_runtime: MakeRuntime, tmp_path: Path) -> None:
    single = tmp_path / "file"
    single.write_text("x")
    # a file over a directory of the image cannot be mounted
    rt = await make_runtime(start=False, mapped_directories=(MappedDirectory(str(single), "/etc"),))
    with pytest.raises(RuntimeError, match="/etc"):
        await rt.start()
