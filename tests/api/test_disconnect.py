"""The emulator service dies mid-wait: every pending call fails with
ServiceDisconnected, events end, nothing hangs.

Runs in a child interpreter connected to a service of its own, so killing
that service does not disturb the rest of the suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

CHILD = textwrap.dedent(
    """
    import anyio, hcsaio, sys
    from hcsaio import errors

    DOC = {"SchemaVersion": {"Major": 2, "Minor": 1}, "Owner": "disconnect", "Container": {}}

    async def main():
        system = await hcsaio.create_compute_system("disconnect-1", DOC)
        await system.start(timeout=30)
        proc = await system.exec("sleep", "1000", stdout=hcsaio.PIPE)
        events = system.events()
        print("ready", flush=True)
        outcomes = {}

        async def record(name, coro):
            try:
                await coro
                outcomes[name] = "returned"
            except errors.ServiceDisconnected:
                outcomes[name] = "ServiceDisconnected"
            except Exception as exc:
                outcomes[name] = type(exc).__name__

        async def collect():
            outcomes["events"] = [type(e).__name__ async for e in events]

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(record, "system.wait", system.wait())
                tg.start_soon(record, "process.wait", proc.wait())
                tg.start_soon(collect)
        with anyio.fail_after(20):
            await record("properties", system.properties())
        await proc.close()
        await system.close()
        print(sorted(outcomes.items()), flush=True)

    anyio.run(main)
    """
)


def test_service_killed_mid_wait(tmp_path: Path) -> None:
    sock = tmp_path / "svc" / "hcs.sock"
    sock.parent.mkdir(mode=0o700)
    service = subprocess.Popen(
        [sys.executable, "-m", "hcsaio.emulator", "serve", "--socket", str(sock), "--mode", "host"],
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert time.monotonic() < deadline, "emulator service did not start"
            assert service.poll() is None, "emulator service exited"
            time.sleep(0.05)
        env = dict(os.environ, HCSAIO_EMULATOR_SOCKET=str(sock))
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        service.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outcomes = dict(eval(out.strip().splitlines()[-1]))  # a repr of a sorted list of pairs
        assert outcomes["system.wait"] == "ServiceDisconnected"
        assert outcomes["process.wait"] == "ServiceDisconnected"
        assert outcomes["properties"] == "ServiceDisconnected"
        assert outcomes["events"] == ["ServiceDisconnected"]
    finally:
        if service.poll() is None:
            service.kill()
        service.wait(timeout=30)
