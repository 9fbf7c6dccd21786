"""Lifecycle benchmark: a whole container's life against a raw process spawn.

hcsaio: ``create_compute_system``, ``start``, ``run("true")`` (which waits for
the exit), ``shutdown``, ``close``, through the emulator. The baseline is what
the same isolation costs without HCS, spawned the asyncio way and waited for:

* namespace mode (root): ``asyncio.create_subprocess_exec("unshare", "--pid",
  "--mount", "--uts", "--ipc", "--fork", "true")``; the emulator additionally
  mounts an overlayfs root, makes a cgroup and runs its per-container shim;
* host mode: ``asyncio.create_subprocess_exec("true")``.

Target: at most 1.5x the raw spawn's time (ratio = raw / hcsaio >= 0.67).
Also 100 containers at once (create .. close, concurrently) against 100
concurrent raw spawns: total time, and the peak memory of this process and of
the emulator service (VmHWM, reset before the burst through
``/proc/<pid>/clear_refs``; the containers' own processes are not counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import _emulator
from _common import Row, median, peak_rss_bytes, row

import hcsaio

NAME = "lifecycle"
REPEATS = (1, 3)
TARGET_TIME_RATIO = 1.5
STEPS = ("create", "start", "run true", "shutdown", "close")


@dataclass(frozen=True)
class Config:
    iterations: int
    concurrent: int


FULL = Config(iterations=30, concurrent=100)
QUICK = Config(iterations=4, concurrent=10)

_names = itertools.count()


def raw_command() -> list[str]:
    if _emulator.privileged():
        return ["unshare", "--pid", "--mount", "--uts", "--ipc", "--fork", "true"]
    return ["true"]


async def raw_spawn() -> float:
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*raw_command())
    if await proc.wait() != 0:
        raise RuntimeError(f"{raw_command()} failed")
    return time.perf_counter() - start


async def container_life(scratch: _emulator.Scratch, layer: Path | None) -> list[float]:
    """Seconds per step of one container's life."""
    name = f"bench-life-{os.getpid()}-{next(_names)}"
    document = _emulator.document(scratch, layer)
    marks = [time.perf_counter()]
    c = await hcsaio.create_compute_system(name, document, timeout=60)
    marks.append(time.perf_counter())
    try:
        await c.start(timeout=60)
        marks.append(time.perf_counter())
        result = await c.run("true", timeout=60)
        marks.append(time.perf_counter())
        if result.returncode != 0:
            raise RuntimeError(f"true exited with {result.returncode} in the container")
        await c.shutdown(timeout=60)
        marks.append(time.perf_counter())
    finally:
        await c.close()
    marks.append(time.perf_counter())
    return [b - a for a, b in itertools.pairwise(marks)]


def reset_peak(pid: int | str) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def _measure(cfg: Config) -> list[Row]:
    mode = _emulator.mode()
    layer = _emulator.base_layer() if _emulator.privileged() else None
    ours: list[float] = []
    raw: list[float] = []
    steps: list[list[float]] = []
    with _emulator.scratch_space() as scratch:
        # warm up: the emulator service, the base layer's page cache, the spawn path
        await container_life(scratch, layer)
        await raw_spawn()
        for i in range(cfg.iterations):
            # alternate who goes first, so drift hits both alike
            if i % 2:
                raw.append(await raw_spawn())
            steps.append(await container_life(scratch, layer))
            ours.append(sum(steps[-1]))
            if not i % 2:
                raw.append(await raw_spawn())

        service = _emulator.service_pid()
        resets = [reset_peak("self")] + ([reset_peak(service)] if service else [])
        start = time.perf_counter()
        await asyncio.gather(*(container_life(scratch, layer) for _ in range(cfg.concurrent)))
        burst = time.perf_counter() - start
        client_peak = peak_rss_bytes()
        service_peak = peak_rss_bytes(service) if service else None
        start = time.perf_counter()
        await asyncio.gather(*(raw_spawn() for _ in range(cfg.concurrent)))
        raw_burst = time.perf_counter() - start

    baseline = f"create_subprocess_exec({' '.join(raw_command())})"
    rows = [
        row(
            NAME,
            f"create, start, run true, shut down, close ({mode} mode; "
            f"target: <= {TARGET_TIME_RATIO}x the raw spawn's time)",
            "ms",
            median(ours) * 1e3,
            baseline=baseline,
            baseline_value=median(raw) * 1e3,
            higher_is_better=False,
            target=round(1 / TARGET_TIME_RATIO, 3),
        )
    ]
    for i, step in enumerate(STEPS):
        rows.append(
            row(NAME, f"  step: {step} ({mode} mode)", "ms", median([s[i] for s in steps]) * 1e3)
        )
    rows.append(
        row(
            NAME,
            f"{cfg.concurrent} containers at once, create .. close ({mode} mode): total",
            "s",
            burst,
            baseline=f"{cfg.concurrent} x {baseline} at once",
            baseline_value=raw_burst,
            higher_is_better=False,
        )
    )
    reset_note = "" if all(resets) else ", lifetime peak: could not reset"
    rows.append(
        row(
            NAME,
            f"{cfg.concurrent} containers at once: peak RSS of this process{reset_note}",
            "MiB",
            client_peak / 2**20,
            higher_is_better=False,
        )
    )
    if service_peak is not None:
        rows.append(
            row(
                NAME,
                f"{cfg.concurrent} containers at once: peak RSS of the emulator service"
                f"{reset_note}",
                "MiB",
                service_peak / 2**20,
                higher_is_better=False,
            )
        )
    return rows


def run(quick: bool = False) -> list[Row]:
    return asyncio.run(_measure(QUICK if quick else FULL))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        for r in run(quick="--quick" in sys.argv[1:]):
            print({k: v for k, v in r.items() if not k.startswith("_")})
