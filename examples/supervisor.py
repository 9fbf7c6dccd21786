"""A supervisor daemon: keep N containers running, restart them when they exit.

    python examples/supervisor.py [--containers N] [--chaos SECONDS] [--restarts R]

Each container runs a long-lived service process. The supervisor learns
that a container stopped from its ``events()`` (SystemExited), never by
polling, and replaces it. ``--chaos`` terminates a random container every
few seconds through a second handle, as an operator or a crash would;
``--restarts`` makes the daemon exit after that many restarts (for demos
and tests).
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid

import anyio
from _image import container_image

import hcsaio


class Supervisor:
    def __init__(self, count: int, restarts: int | None) -> None:
        self.count = count
        self.restarts_left = restarts
        self.running: dict[str, hcsaio.Container] = {}
        self.done = anyio.Event()

    async def keep_one(self, slot: int) -> None:
        while not self.done.is_set():
            with container_image(owner="supervisor") as document:
                name = f"svc{slot}-{uuid.uuid4().hex[:6]}"
                container = await hcsaio.create_compute_system(name, document)
                try:
                    events = container.events()  # subscribe before anything can happen
                    await container.start(timeout=60)
                    await container.exec("sleep", "100000")
                    self.running[name] = container
                    print(f"slot {slot}: started {name}", flush=True)
                    async for event in events:
                        if isinstance(event, hcsaio.SystemExited):
                            print(
                                f"slot {slot}: {name} exited ({event.status.exit_type}), restarting",
                                flush=True,
                            )
                finally:
                    self.running.pop(name, None)
                    with anyio.CancelScope(shield=True):
                        if not container.closed:
                            await container.terminate(timeout=30)
                            await container.close()
            if self.restarts_left is not None:
                self.restarts_left -= 1
                if self.restarts_left <= 0:
                    self.done.set()

    async def chaos(self, every: float) -> None:
        while not self.done.is_set():
            await anyio.sleep(every)
            if self.running:
                victim = random.choice(list(self.running))
                other = await hcsaio.open_compute_system(victim)
                try:
                    await other.terminate(timeout=30)
                finally:
                    await other.close()


async def main(args: argparse.Namespace) -> int:
    supervisor = Supervisor(args.containers, args.restarts)
    async with anyio.create_task_group() as tg:
        for slot in range(args.containers):
            tg.start_soon(supervisor.keep_one, slot)
        if args.chaos:
            tg.start_soon(supervisor.chaos, args.chaos)
        await supervisor.done.wait()
        tg.cancel_scope.cancel()
    print("supervisor: done", flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=3)
    parser.add_argument(
        "--chaos", type=float, default=0.0, help="terminate a random container every N seconds"
    )
    parser.add_argument("--restarts", type=int, default=None, help="exit after this many restarts")
    sys.exit(anyio.run(main, parser.parse_args()))
