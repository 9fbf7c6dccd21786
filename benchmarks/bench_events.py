"""Events benchmark: one event to each of many subscribers, send to awaiting task.

What is timed, per event: from the emulator service's ``Session.send_event``
(just before the event frame is encoded and queued on the client's socket;
``_stamped_service.py`` adds the CLOCK_MONOTONIC time to the payload) to the
moment the task iterating ``Container.events()`` resumes with it
(``time.monotonic_ns()``, the same clock). In between: the socket, libhcsemu's
reader thread and callback pool, the bridge's C trampoline and queue, one
eventfd wake-up, the dispatcher's drain, the event hub, the task's wake-up.

Two fan-outs, N subscribers each (one ``events()`` iterator per Container
object, one task per iterator awaiting its first event):

* N containers: each terminated (all at once), so each sends its own
  SystemExited; the service's sends spread over its termination work;
* one broadcast: N handles of one container (``open_compute_system``), one
  terminate, so the service sends the single SystemExited to all N handles
  in one loop: the burst the bridge has to fan out.

The baseline is the same path unloaded: one container, one subscriber, one
terminate at a time. No target (the issue asks for the latency to be
reported); the ratio says how much N concurrent deliveries cost each one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import _emulator
import _stamped_service
from _common import Row, percentile, row

import hcsaio

NAME = "events"
REPEATS = (1, 3)
CREATE_PARALLEL = 32
UNLOADED = "same path, 1 subscriber at a time"


@dataclass(frozen=True)
class Config:
    subscribers: int
    unloaded: int  # single-subscriber samples


FULL = Config(subscribers=1000, unloaded=30)
QUICK = Config(subscribers=40, unloaded=5)

_names = itertools.count()
_service: str | None = None


def _ensure_service() -> None:
    global _service
    if _service is None:
        _service = _stamped_service.start()


async def _first_event_latency(c: hcsaio.Container, ready: asyncio.Event) -> tuple[int, int]:
    """(sent, received) ns of the first event on this Container object."""
    events = c.events()
    ready.set()
    async for event in events:
        received = time.monotonic_ns()
        sent = json.loads(event.data or b"{}").get(_stamped_service.STAMP_KEY)
        if sent is None:
            raise RuntimeError(f"event {event!r} carries no send stamp")
        return sent, received
    raise RuntimeError("the event iteration ended without an event")


async def _listen(containers: list[hcsaio.Container]) -> list[asyncio.Task[tuple[int, int]]]:
    tasks = []
    for c in containers:
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(_first_event_latency(c, ready)))
        await ready.wait()  # subscribed before anything is sent
    return tasks


async def _create(scratch: _emulator.Scratch, layer: Path | None, n: int) -> list[hcsaio.Container]:
    gate = asyncio.Semaphore(CREATE_PARALLEL)

    async def one() -> hcsaio.Container:
        async with gate:
            name = f"bench-ev-{os.getpid()}-{next(_names)}"
            c = await hcsaio.create_compute_system(name, _emulator.document(scratch, layer))
            await c.start(timeout=120)
            return c

    return await asyncio.gather(*(one() for _ in range(n)))


@dataclass
class FanOut:
    latencies_us: list[float]  # per event, send to task
    span_us: float  # first send to last task resumed
    sending_us: float  # first send to last send: the service's share of the span


def _fan_out(pairs: list[tuple[int, int]]) -> FanOut:
    sent = [s for s, _ in pairs]
    return FanOut(
        latencies_us=[(r - s) / 1000 for s, r in pairs],
        span_us=(max(r for _, r in pairs) - min(sent)) / 1000,
        sending_us=(max(sent) - min(sent)) / 1000,
    )


async def many_containers(scratch: _emulator.Scratch, layer: Path | None, n: int) -> FanOut:
    containers = await _create(scratch, layer, n)
    try:
        tasks = await _listen(containers)
        await asyncio.gather(*(c.terminate(timeout=120) for c in containers))
        pairs = await asyncio.gather(*tasks)
    finally:
        await asyncio.gather(*(c.close() for c in containers))
    return _fan_out(pairs)


async def broadcast(scratch: _emulator.Scratch, layer: Path | None, n: int) -> FanOut:
    (owner,) = await _create(scratch, layer, 1)
    handles: list[hcsaio.Container] = []
    try:
        handles = [await hcsaio.open_compute_system(owner.id) for _ in range(n)]
        tasks = await _listen(handles)
        await owner.terminate(timeout=120)
        pairs = await asyncio.gather(*tasks)
    finally:
        await asyncio.gather(*(c.close() for c in [*handles, owner]))
    return _fan_out(pairs)


async def _measure(cfg: Config) -> list[Row]:
    mode = _emulator.mode()
    layer = _emulator.base_layer() if _emulator.privileged() else None
    n = cfg.subscribers
    with _emulator.scratch_space() as scratch:
        await many_containers(scratch, layer, 1)  # warm up
        unloaded: list[float] = []
        for _ in range(cfg.unloaded):
            unloaded += (await many_containers(scratch, layer, 1)).latencies_us
        spread = await many_containers(scratch, layer, n)
        burst = await broadcast(scratch, layer, n)
    rows: list[Row] = []
    for label, fan in (
        (f"{n:,} containers, each terminated at once ({mode} mode)", spread),
        (f"one SystemExited broadcast to {n:,} handles of a container", burst),
    ):
        lat = fan.latencies_us
        for q in (50, 99):
            rows.append(
                row(
                    NAME,
                    f"send-to-task latency p{q}: {label}",
                    "us",
                    percentile(lat, q),
                    baseline=UNLOADED,
                    baseline_value=percentile(unloaded, q),
                    higher_is_better=False,
                )
            )
        for what, us in (
            ("first send to last task resumed", fan.span_us),
            ("  of which the service was sending (first to last send)", fan.sending_us),
        ):
            rows.append(row(NAME, f"{what}: {label}", "ms", us / 1000, higher_is_better=False))
    return rows


def run(quick: bool = False) -> list[Row]:
    _ensure_service()
    return asyncio.run(_measure(QUICK if quick else FULL))


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv[1:]):
        print({k: v for k, v in r.items() if not k.startswith("_")})
