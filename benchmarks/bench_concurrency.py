"""Concurrency benchmark: many process waits pending at once.

N ``sleep`` processes run in one container (created through
``Container.exec``, no pipes); then one task per process waits for its exit:

* hcsaio: ``asyncio.create_task(process.wait())``; the exit arrives as an
  HCS event through the bridge, so no thread waits;
* baseline, a thread per wait: ``asyncio.create_task`` of
  ``loop.run_in_executor(pool, HcsWaitForProcessExit, ...)`` on a
  ThreadPoolExecutor with N workers (a smaller pool would leave waits queued
  instead of pending: they could not notice an exit).

Measured with every wait pending: the process's thread count, the Python
memory the waits added (tracemalloc, traced only while the waits are set up)
and the RSS they added, each per pending wait; then how long all N waits take
to finish when the processes are killed, ``KILL_BATCH`` at a time. Targets:
as many threads with the waits pending as before them, under 2 KiB of Python
memory per wait.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common
import _emulator
from _common import Row, row, rss_bytes, thread_count

import hcsaio
from hcsaio._core import _hcs_process as native_process

NAME = "concurrency"
REPEATS = (1, 3)
INFINITE = 0xFFFFFFFF
TARGET_KIB = 2.0
#: Process creations in flight while setting up (keeps the service busy, not flooded).
CREATE_PARALLEL = 64
#: Processes killed at once when ending the waits. Not all 10,000 at once: that
#: wakes 10,000 pool threads together, and their fight for the GIL can keep
#: both CPUs busy in futex calls for minutes (seen: > 120 s, 13 CPU-minutes of
#: system time), starving the event loop and the rest of the machine.
KILL_BATCH = 500

BRIDGE = "hcsaio (bridge, no thread per wait)"
POOL = "thread per wait (HcsWaitForProcessExit)"


@dataclass(frozen=True)
class Config:
    processes: int


FULL = Config(processes=10_000)
QUICK = Config(processes=300)


@dataclass
class Measured:
    threads_before: int
    threads_pending: int
    python_bytes: float  # per wait
    rss_bytes: float  # per wait
    rss_per_process: float
    finish_seconds: float


_names = itertools.count()


async def _spawn(c: hcsaio.Container, n: int) -> list[hcsaio.Process]:
    gate = asyncio.Semaphore(CREATE_PARALLEL)

    async def one() -> hcsaio.Process:
        async with gate:
            return await c.exec("sleep", "1000000", timeout=120)

    return await asyncio.gather(*(one() for _ in range(n)))


def _pool_waiter(pool: ThreadPoolExecutor) -> Callable[[hcsaio.Process], Awaitable[Any]]:
    loop = asyncio.get_running_loop()

    async def wait(p: hcsaio.Process) -> Any:
        handle = p._handle  # the baseline uses the raw HCS handle
        return await loop.run_in_executor(
            pool,
            lambda: native_process.wait_for_exit(
                p._library.index, handle, INFINITE, id=p.container.id, pid=p.pid
            ),
        )

    return wait


async def _measure_one(
    cfg: Config, scratch: _emulator.Scratch, layer: Path | None, design: str
) -> Measured:
    name = f"bench-conc-{os.getpid()}-{next(_names)}"
    async with _emulator.container(name, scratch, layer, timeout=120) as c:
        rss0 = rss_bytes()
        processes = await _spawn(c, cfg.processes)
        rss_processes = rss_bytes() - rss0
        pool = ThreadPoolExecutor(max_workers=cfg.processes) if design == POOL else None
        wait: Callable[[hcsaio.Process], Awaitable[Any]]
        wait = _pool_waiter(pool) if pool is not None else (lambda p: p.wait())
        gc.collect()
        threads_before = thread_count()
        rss1 = rss_bytes()
        tracemalloc.start()
        traced0 = tracemalloc.get_traced_memory()[0]
        tasks = [asyncio.create_task(wait(p)) for p in processes]
        for _ in range(3):  # every task runs up to its pending await
            await asyncio.sleep(0)
        while pool is not None and thread_count() < threads_before + cfg.processes:
            await asyncio.sleep(0.01)  # the pool's threads are blocked in their waits
        traced = tracemalloc.get_traced_memory()[0] - traced0
        tracemalloc.stop()
        rss_waits = rss_bytes() - rss1
        threads_pending = thread_count()
        if any(t.done() for t in tasks):
            raise RuntimeError("a wait finished before the processes were stopped")
        start = time.perf_counter()
        for first in range(0, len(processes), KILL_BATCH):
            batch = range(first, min(first + KILL_BATCH, len(processes)))
            for i in batch:
                processes[i].kill()
            await asyncio.gather(*(tasks[i] for i in batch))
        finish = time.perf_counter() - start
        if pool is not None:
            pool.shutdown()
        # Release the handles now: the next design starts from a clean slate.
        await asyncio.gather(*(p.close() for p in processes))
    n = cfg.processes
    return Measured(
        threads_before, threads_pending, traced / n, rss_waits / n, rss_processes / n, finish
    )


async def _measure(cfg: Config) -> list[Row]:
    mode = _emulator.mode()
    layer = _emulator.base_layer() if _emulator.privileged() else None
    order = [BRIDGE, POOL] if _common.REPEAT % 2 == 0 else [POOL, BRIDGE]
    got: dict[str, Measured] = {}
    with _emulator.scratch_space() as scratch:
        for design in order:
            got[design] = await _measure_one(cfg, scratch, layer, design)
    ours, pool = got[BRIDGE], got[POOL]
    n = f"{cfg.processes:,}"
    return [
        row(
            NAME,
            f"threads with {n} process waits pending ({mode} mode; target: as before them)",
            "threads",
            ours.threads_pending,
            baseline=POOL,
            baseline_value=pool.threads_pending,
            higher_is_better=False,
            target=ours.threads_before,
            check="value<=",
        ),
        row(
            NAME,
            f"Python memory per pending wait (tracemalloc), {n} pending",
            "KiB",
            ours.python_bytes / 1024,
            baseline=POOL,
            baseline_value=pool.python_bytes / 1024,
            higher_is_better=False,
            target=TARGET_KIB,
            check="value<=",
        ),
        row(
            NAME,
            f"RSS per pending wait, {n} pending",
            "KiB",
            max(ours.rss_bytes, 0) / 1024,
            baseline=POOL,
            baseline_value=pool.rss_bytes / 1024,
            higher_is_better=False,
        ),
        row(
            NAME,
            f"all {n} waits done, killing {KILL_BATCH} processes at a time",
            "s",
            ours.finish_seconds,
            baseline=POOL,
            baseline_value=pool.finish_seconds,
            higher_is_better=False,
        ),
        row(
            NAME,
            f"client RSS per running process (Process object, handle, callback), {n} running",
            "KiB",
            ours.rss_per_process / 1024,
            higher_is_better=False,
        ),
    ]


def run(quick: bool = False) -> list[Row]:
    return asyncio.run(_measure(QUICK if quick else FULL))


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv[1:]):
        print({k: v for k, v in r.items() if not k.startswith("_")})
