"""HostRuntime through the runtime contract (``_runtime.Runtime``), on the
event loop, without the service in between."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from hcsaio.emulator.runtimes._runtime import ContainerSpec, ProcessSpec, RuntimeMode, Stdio
from hcsaio.emulator.runtimes._runtime_host import HostRuntime

from .procs import group_members, zombie_children

pytestmark = pytest.mark.asyncio
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


async def read_line(fd: int) -> bytes:
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(fd, ready.set)
    try:
        await asyncio.wait_for(ready.wait(), 30)
    finally:
        loop.remove_reader(fd)
    return os.read(fd, 4096)


async def test_spawn_wait_and_exit_codes() -> None:
    runtime = HostRuntime(ContainerSpec(system_id="unit"))
    assert runtime.mode is RuntimeMode.HOST
    await runtime.start()
    try:
        ok = await runtime.spawn(
            ProcessSpec(argv=("sh", "-c", "exit 4"), env=ENV), Stdio(None, None, None)
        )
        assert ok.pid == ok.host_pid and await ok.wait() == 4
        killed = await runtime.spawn(
            ProcessSpec(argv=("sleep", "60"), env=ENV), Stdio(None, None, None)
        )
        killed.signal(signal.SIGKILL)
        assert await killed.wait() == 128 + signal.SIGKILL
        killed.signal(signal.SIGTERM)  # after exit: no error
        with pytest.raises(FileNotFoundError):
            await runtime.spawn(
                ProcessSpec(argv=("no-such-program-here",), env=ENV), Stdio(None, None, None)
            )
        with pytest.raises(ValueError, match="unknown user"):
            await runtime.spawn(
                ProcessSpec(argv=("true",), env=ENV, user="no-such-user"), Stdio(None, None, None)
            )
    finally:
        await runtime.destroy()


async def test_stop_with_grace_reaches_orphans_and_reaps_everything() -> None:
    runtime = HostRuntime(ContainerSpec(system_id="unit"))
    await runtime.start()
    read_end, write_end = os.pipe()
    try:
        leader = await runtime.spawn(
            ProcessSpec(
                argv=("sh", "-c", 'trap "" TERM; (trap "" TERM; sleep 60) & echo up; exit 0'),
                env=ENV,
            ),
            Stdio(None, write_end, None),
        )
        os.close(write_end)
        assert await read_line(read_end) == b"up\n"
        assert await leader.wait() == 0
        assert group_members(leader.pid)  # the orphan lives on in the group
        assert len(await runtime.process_list()) == 1
        await asyncio.wait_for(runtime.stop(grace=0.2), 30)
        assert not group_members(leader.pid)
        assert await runtime.process_list() == []
        # The leader's zombie was reaped once its group was empty. (Only the
        # leader: other tests' children are not this test's business.)
        assert leader.pid not in zombie_children(os.getpid())
    finally:
        os.close(read_end)
        await runtime.destroy()


async def test_stop_can_be_cancelled_in_its_grace_period() -> None:
    runtime = HostRuntime(ContainerSpec(system_id="unit"))
    await runtime.start()
    read_end, write_end = os.pipe()
    try:
        script = 'trap "echo term" TERM; echo ready; while :; do sleep 0.05; done'
        process = await runtime.spawn(
            ProcessSpec(argv=("sh", "-c", script), env=ENV), Stdio(None, write_end, None)
        )
        os.close(write_end)
        assert await read_line(read_end) == b"ready\n"  # the trap is in place
        stopping = asyncio.ensure_future(runtime.stop(grace=60))
        assert await read_line(read_end) == b"term\n"  # SIGTERM sent: the grace period runs
        stopping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopping
        assert group_members(process.pid)
        await asyncio.wait_for(runtime.stop(grace=None), 30)
        assert await process.wait() == 128 + signal.SIGKILL
    finally:
        os.close(read_end)
        await runtime.destroy()


async def test_statistics_shape() -> None:
    runtime = HostRuntime(ContainerSpec(system_id="unit"))
    await runtime.start()
    try:
        stats = await runtime.statistics()
        assert set(stats) == {
            "Timestamp",
            "ContainerStartTime",
            "Uptime100ns",
            "Processor",
            "Memory",
        }
        assert str(stats["Timestamp"]).endswith("Z")
    finally:
        await runtime.destroy()
        await runtime.destroy()  # idempotent


async def test_wait_stopped_returns_once_stopped() -> None:
    """The contract's wait_stopped(): a host system never dies on its own,
    so it returns once stop() has finished (and after destroy())."""
    runtime = HostRuntime(ContainerSpec(system_id="unit"))
    await runtime.start()
    try:
        await runtime.spawn(ProcessSpec(argv=("sleep", "60"), env=ENV), Stdio(None, None, None))
        waiting = asyncio.create_task(runtime.wait_stopped())
        await asyncio.sleep(0.1)
        assert not waiting.done()
        await runtime.stop(grace=None)
        await asyncio.wait_for(waiting, 10)
    finally:
        await runtime.destroy()
    destroyed = HostRuntime(ContainerSpec(system_id="unit"))
    await destroyed.destroy()
    await asyncio.wait_for(destroyed.wait_stopped(), 10)


async def test_console_is_a_host_pty() -> None:
    runtime = HostRuntime(ContainerSpec(system_id="unit"))
    master, slave = await runtime.open_console()
    try:
        assert os.isatty(master) and os.ttyname(slave).startswith("/dev/pts/")
        assert not os.get_inheritable(master) and not os.get_inheritable(slave)
    finally:
        os.close(master)
        os.close(slave)
