"""Bridge benchmark: HCS completions to awaiting tasks, against three baselines.

All four designs complete the same operations of the same fake computecore
(``tests/native/fakecore.c``: 8 native threads run the completion callbacks),
in one process, interleaved, on the default asyncio loop:

(a) naive: a cffi ``extern "Python"`` callback per completion; on the fake's
    thread it takes the GIL, fetches the result and calls
    ``loop.call_soon_threadsafe(future.set_result, hresult)``;
(b) thread pool: ``asyncio.to_thread`` running the blocking
    ``HcsWaitForOperationResult`` per operation, on a default-sized executor
    (``min(32, cpus + 4)`` threads) made for each burst and joined after it
    (dispatch only: ``loop.run_in_executor`` futures nobody awaits);
(c) the limit: the bridge's hand-off (mutex queue, one eventfd write per
    batch) into a C consumer, no Python at all;
(d) hcsaio: the C trampoline, the dispatcher and ``hcsaio._core._operation.run``.

Throughput, in batches of ``in_flight`` operations started with the fake's
``hold`` script and released at once (``fake_release``); the clock runs from
the release to the last resolution:

* dispatch only: one future/waiter per operation, nobody awaiting it;
* end to end: one task per operation awaiting it (for hcsaio, a task in
  ``_operation.run``), each closing its operation.

Latency, callback to awaiter: the fake calls a C stamp wrapper
(``native/bench_native.c``) that records CLOCK_MONOTONIC in a slot chosen by
the operation's context, then calls the design's own callback; the awaiting
task reads ``time.monotonic_ns()`` (the same clock) when it resumes. For the
thread pool, whose operations have no callback, the wrapper runs right after
the fake has woken the blocked ``HcsWaitForOperationResult``, so the stamp is
at or after the moment the pool could have noticed; when the pool's thread
even beats the stamp (a preempted fake thread), the sample counts as zero.
Both favour the baseline. Measured at low load (one operation in flight,
released while the design is already waiting) and within the end-to-end
bursts. The fake's 8 threads and each design's own threads are counted at
the peak of each burst.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

import _build
import _common
from _common import Row, median, percentile, row, thread_count

from hcsaio._core import _hcs_system as native_system
from hcsaio._core import _operation
from hcsaio._core._backend import load_library
from hcsaio._core._dispatch import current_dispatcher
from hcsaio._core._waiters import AsyncioWaiter
from hcsaio._native import operation as native_operation
from hcsaio._native._ffi import ffi as bridge_ffi
from hcsaio._native._ffi import lib as bridge_lib
from hcsaio._native.handles import Handle
from hcsaio._native.library import Library

NAME = "bridge"
REPEATS = (2, 5)
#: Low-load latency samples (microseconds) per design, for ``--plot``.
SAMPLES: dict[str, list[float]] = {}

NAIVE = "(a) naive def_extern"
POOL = "(b) thread pool"
LIMIT = "(c) C-only limit"
PINGPONG = "(c) eventfd ping-pong, one way"
BRIDGE = "(d) hcsaio bridge"
INFINITE = 0xFFFFFFFF
START = "HcsStartComputeSystem"


@dataclass(frozen=True)
class Config:
    total: int  # completions per design and mode
    in_flight: int  # operations outstanding at once
    sequential: int  # low-load latency samples per design
    pingpong: int  # C round trips


FULL = Config(total=100_000, in_flight=10_000, sequential=2_000, pingpong=20_000)
QUICK = Config(total=6_000, in_flight=2_000, sequential=200, pingpong=2_000)


@dataclass
class Burst:
    seconds: float
    latencies_us: list[float] = field(default_factory=list)
    threads: int = 0


@dataclass
class Env:
    library: Library
    native: ModuleType
    stamps: Any  # int64_t[] of callback times
    slots: int
    null: Handle


@cache
def environment() -> Env:
    fake = _build.fakecore()
    native = _build.native_module()
    err = native.ffi.new("char[]", 512)
    if native.lib.bench_init(str(fake).encode(), err, 512) != 0:
        raise RuntimeError(native.ffi.string(err).decode())
    _install_naive_callback(native)
    return Env(
        library=load_library(str(fake)),
        native=native,
        stamps=native.lib.bench_stamps(),
        slots=native.lib.bench_stamp_slots(),
        null=Handle(bridge_ffi.NULL),
    )


def _address(ffi: Any, lib: Any, name: str) -> Any:
    """A C function of one cffi module as a void* another module accepts."""
    return ffi.cast("void *", ffi.addressof(lib, name))


def _downstream(env: Env, design: str) -> None:
    """Which callback the stamp wrapper calls next."""
    n = env.native
    if design == BRIDGE:
        addr = int(
            bridge_ffi.cast("uintptr_t", bridge_ffi.addressof(bridge_lib, "hb_on_completion"))
        )
        n.lib.bench_set_downstream(n.ffi.cast("void *", addr))
    elif design == NAIVE:
        n.lib.bench_set_downstream(_address(n.ffi, n.lib, "naive_on_completion"))
    else:
        n.lib.bench_set_downstream(n.ffi.NULL)


# --------------------------------------------------------------------------- (a) naive

_naive_pending: dict[int, asyncio.Future[int]] = {}
_naive_loop: asyncio.AbstractEventLoop | None = None


@dataclass
class _NaiveBatch:
    """Dispatch-only bookkeeping: ``next(tickets)`` is atomic under the GIL,
    so the callback drawing the last ticket has scheduled its own
    ``set_result`` after every other one; the done signal it schedules next
    runs after all of them (call_soon_threadsafe is FIFO)."""

    size: int
    done: asyncio.Future[None]
    tickets: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


_naive_batch: _NaiveBatch | None = None


def _install_naive_callback(native: ModuleType) -> None:
    ffi, lib = native.ffi, native.lib

    @ffi.def_extern(name="naive_on_completion")  # type: ignore[misc]
    def naive_on_completion(operation: Any, context: Any) -> None:
        # This runs on the fake's thread, holding the GIL: the naive design.
        hresult = lib.naive_result(operation)
        future = _naive_pending.pop(int(ffi.cast("uintptr_t", context)))
        loop = _naive_loop
        assert loop is not None
        loop.call_soon_threadsafe(future.set_result, hresult)
        batch = _naive_batch
        if batch is not None and next(batch.tickets) == batch.size:
            loop.call_soon_threadsafe(batch.done.set_result, None)


_keys = itertools.count(1)


class Naive:
    label = NAIVE

    def __init__(self, env: Env) -> None:
        self.env = env
        self.lib = env.native.lib

    async def dispatch(self, n: int) -> float:
        global _naive_loop, _naive_batch
        loop = asyncio.get_running_loop()
        _naive_loop = loop
        ops = []
        for _ in range(n):
            key = next(_keys)
            _naive_pending[key] = loop.create_future()
            op = self.lib.naive_create(key, 0)
            self.lib.naive_start(op, 1)
            ops.append(op)
        _naive_batch = batch = _NaiveBatch(n, loop.create_future())
        gc.collect()
        start = time.perf_counter()
        self.lib.bench_release()
        await batch.done
        elapsed = time.perf_counter() - start
        _naive_batch = None
        for op in ops:
            self.lib.naive_close(op)
        return elapsed

    async def one(self, burst: _Tasks) -> None:
        """One held operation, awaited by this task."""
        global _naive_loop
        loop = _naive_loop = asyncio.get_running_loop()
        key = next(_keys)
        future = loop.create_future()
        _naive_pending[key] = future
        op = self.lib.naive_create(key, 1)
        burst.clear_stamp(self.env, key)
        self.lib.naive_start(op, 1)
        burst.started()
        await future
        self.lib.naive_close(op)
        burst.finished(self.env, key)

    async def settle(self) -> None:
        await asyncio.sleep(0)

    async def end_to_end(self, n: int) -> Burst:
        _downstream(self.env, NAIVE)
        return await _run_burst(self, n)


# --------------------------------------------------------------------------- (b) thread pool


class ThreadPool:
    """``asyncio.to_thread`` style, on a ThreadPoolExecutor of the default
    size (``min(32, cpus + 4)``) made per burst and joined after it, so the
    threads counted are this design's own."""

    label = POOL

    def __init__(self, env: Env) -> None:
        self.env = env
        self.index = env.library.index
        self.workers = ThreadPoolExecutor()._max_workers

    def _wait(self, executor: ThreadPoolExecutor, op: Handle) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().run_in_executor(
            executor, native_operation.wait_operation_result, self.index, op, INFINITE
        )

    async def dispatch(self, n: int) -> float:
        ops = []
        for _ in range(n):
            op = native_operation.create_blocking_operation(self.index)
            native_system.call(START, self.index, self.env.null, op, "hold", id="bench")
            ops.append(op)
        with ThreadPoolExecutor() as executor:
            futures = [self._wait(executor, op) for op in ops]
            await self.settle()
            gc.collect()
            start = time.perf_counter()
            self.env.native.lib.bench_release()
            await _poll_until_done(futures, lambda f: f.done())
            elapsed = time.perf_counter() - start
        for op in ops:
            native_operation.close_operation(self.index, op)
        return elapsed

    async def one(self, burst: _Tasks) -> None:
        key = next(_keys)
        op = native_operation.create_blocking_operation(self.index)
        self.env.native.lib.bench_arm_with(op, key)
        burst.clear_stamp(self.env, key)
        native_system.call(START, self.index, self.env.null, op, "hold", id="bench")
        burst.started()
        await asyncio.to_thread(native_operation.wait_operation_result, self.index, op, INFINITE)
        native_operation.close_operation(self.index, op)
        burst.finished(self.env, key)

    async def end_to_end(self, n: int) -> Burst:
        _downstream(self.env, POOL)
        with self.default_executor():
            return await _run_burst(self, n)

    @staticmethod
    @contextmanager
    def default_executor() -> Iterator[None]:
        """A fresh default executor for asyncio.to_thread, joined afterwards."""
        executor = ThreadPoolExecutor()
        asyncio.get_running_loop().set_default_executor(executor)
        try:
            yield
        finally:
            executor.shutdown()

    async def settle(self) -> None:
        # Let the pool's threads block in their waits before the release.
        await asyncio.sleep(0.002)


# --------------------------------------------------------------------------- (d) hcsaio


class _Countdown:
    def __init__(self, n: int, done: asyncio.Future[None]) -> None:
        self.left = n
        self.done = done


class _CountingWaiter(AsyncioWaiter):
    """hcsaio's waiter, plus a countdown so the benchmark learns when the
    last record has been dispatched without anyone awaiting each waiter."""

    __slots__ = ("countdown",)

    def __init__(self, countdown: _Countdown) -> None:
        super().__init__()
        self.countdown = countdown

    def resolve(self, record: Any) -> None:
        super().resolve(record)
        c = self.countdown
        c.left -= 1
        if not c.left:
            c.done.set_result(None)


class Bridge:
    label = BRIDGE

    def __init__(self, env: Env) -> None:
        self.env = env
        self.library = env.library
        self.index = env.library.index

    async def dispatch(self, n: int) -> float:
        loop = asyncio.get_running_loop()
        dispatcher = current_dispatcher()
        countdown = _Countdown(n, loop.create_future())
        new_waiter = dispatcher._new_waiter
        dispatcher._new_waiter = lambda: _CountingWaiter(countdown)
        ops = []
        try:
            for _ in range(n):
                token = dispatcher.new_token(self.index)
                dispatcher.expect(token)
                op = native_operation.create_operation(self.index, token)
                native_system.call(START, self.index, self.env.null, op, "hold", id="bench")
                ops.append(op)
        finally:
            dispatcher._new_waiter = new_waiter
        gc.collect()
        start = time.perf_counter()
        self.env.native.lib.bench_release()
        await countdown.done
        elapsed = time.perf_counter() - start
        for op in ops:
            native_operation.close_operation(self.index, op)
        return elapsed

    async def one(self, burst: _Tasks) -> None:
        arm = self.env.native.lib.bench_arm
        key = 0

        def start(op: Handle) -> None:
            nonlocal key
            key = int(arm(op))  # the token: the stamp wrapper's slot
            burst.clear_stamp(self.env, key)
            native_system.call(START, self.index, self.env.null, op, "hold", id="bench")
            burst.started()

        await _operation.run(self.library, START, start)
        burst.finished(self.env, key)

    async def settle(self) -> None:
        await asyncio.sleep(0)

    async def end_to_end(self, n: int) -> Burst:
        _downstream(self.env, BRIDGE)
        return await _run_burst(self, n)


# --------------------------------------------------------------------------- bursts


class _Tasks:
    """Book-keeping shared by the tasks of one burst."""

    def __init__(self, n: int, loop: asyncio.AbstractEventLoop) -> None:
        self.n = n
        self.waiting = 0
        self.left = n
        self.done: asyncio.Future[None] = loop.create_future()
        self.latencies_us: list[float] = []

    def started(self) -> None:
        self.waiting += 1

    @staticmethod
    def clear_stamp(env: Env, key: int) -> None:
        env.stamps[key % env.slots] = 0

    def finished(self, env: Env, key: int) -> None:
        now = time.monotonic_ns()
        slot = key % env.slots
        # The thread pool can beat the stamp: the fake wakes the blocked wait
        # and only then calls the (stamping) callback. Such a sample counts
        # as zero latency, which favours the baseline.
        while not env.stamps[slot]:
            time.sleep(0)
        self.latencies_us.append(max(0, now - env.stamps[slot]) / 1000)
        self.left -= 1
        if not self.left:
            self.done.set_result(None)


async def _run_burst(design: Any, n: int, *, prepare: bool = True) -> Burst:
    """n tasks, each starting one held operation and awaiting it; released at
    once. ``prepare``: count threads and collect garbage first (skipped for
    low-load samples, where a full collection before each one would leave
    the caches cold)."""
    env = design.env
    loop = asyncio.get_running_loop()
    tasks = _Tasks(n, loop)
    running = [loop.create_task(design.one(tasks)) for _ in range(n)]
    while tasks.waiting < n:  # every task has started its operation
        await asyncio.sleep(0)
    await design.settle()  # ... and awaits it
    threads = 0
    if prepare:
        threads = thread_count()
        gc.collect()
    start = time.perf_counter()
    env.native.lib.bench_release()
    await tasks.done
    elapsed = time.perf_counter() - start
    await asyncio.gather(*running)
    return Burst(elapsed, tasks.latencies_us, max(threads, thread_count() if prepare else 0))


async def _poll_until_done(items: list[Any], done: Callable[[Any], bool]) -> None:
    """Wait until done(item) for every item, checking every millisecond
    (for the thread pool, whose futures complete in tens of microseconds
    each, so the polling error is small)."""
    i = 0
    while True:
        while i < len(items) and done(items[i]):
            i += 1
        if i == len(items):
            return
        await asyncio.sleep(0.001)


async def _sequential(design: Any, n: int) -> list[float]:
    """Low load: one operation at a time, released once its awaiter waits."""
    _downstream(design.env, design.label)
    samples: list[float] = []
    gc.collect()
    with ThreadPool.default_executor():
        for _ in range(n):
            burst = await _run_burst(design, 1, prepare=False)
            samples += burst.latencies_us
    return samples


# --------------------------------------------------------------------------- (c) limit


def _limit_burst(env: Env, n: int) -> Burst:
    lat = env.native.ffi.new("int64_t[]", n)
    gc.collect()
    elapsed_ns = env.native.lib.limit_burst(n, lat)
    if elapsed_ns < 0:
        raise RuntimeError("limit_burst failed")
    return Burst(elapsed_ns / 1e9, [v / 1000 for v in lat], thread_count())


def _limit_sequential(env: Env, n: int) -> list[float]:
    lat = env.native.ffi.new("int64_t[]", n)
    if env.native.lib.limit_sequential(n, lat) != 0:
        raise RuntimeError("limit_sequential failed")
    return [v / 1000 for v in lat]


def _pingpong_one_way(env: Env, n: int) -> list[float]:
    rtt = env.native.ffi.new("int64_t[]", n)
    if env.native.lib.limit_pingpong(n, rtt) != 0:
        raise RuntimeError("limit_pingpong failed")
    return [v / 2000 for v in rtt]


# --------------------------------------------------------------------------- measuring


@dataclass
class Results:
    dispatch: dict[str, float] = field(default_factory=dict)  # completions/s
    e2e: dict[str, float] = field(default_factory=dict)
    burst_latency: dict[str, list[float]] = field(default_factory=dict)
    low_latency: dict[str, list[float]] = field(default_factory=dict)
    threads_burst: dict[str, int] = field(default_factory=dict)
    threads_low: int = 0
    pool_workers: int = 0


async def _measure(env: Env, cfg: Config) -> Results:
    res = Results()
    designs: list[Any] = [Naive(env), ThreadPool(env), Bridge(env)]
    shift = _common.REPEAT % len(designs)  # vary who goes first between runs
    designs = designs[shift:] + designs[:shift]
    batches = max(1, cfg.total // cfg.in_flight)
    total = batches * cfg.in_flight

    # warm up every path (first-use allocations, the dispatcher, pool threads)
    for d in designs:
        await d.dispatch(min(200, cfg.in_flight))
        await d.end_to_end(min(200, cfg.in_flight))
    _limit_burst(env, min(200, cfg.in_flight))

    # Batches alternate between designs, so load from elsewhere on the
    # machine hits every design alike instead of whichever ran during it.
    dispatch: dict[str, float] = {d.label: 0.0 for d in designs}
    limit: list[Burst] = []
    for _ in range(batches):
        for d in designs:
            dispatch[d.label] += await d.dispatch(cfg.in_flight)
        limit.append(_limit_burst(env, cfg.in_flight))
    for label, seconds in dispatch.items():
        res.dispatch[label] = total / seconds
    res.dispatch[LIMIT] = res.e2e[LIMIT] = total / sum(b.seconds for b in limit)
    res.burst_latency[LIMIT] = [x for b in limit for x in b.latencies_us]
    res.threads_burst[LIMIT] = max(b.threads for b in limit)

    bursts: dict[str, list[Burst]] = {d.label: [] for d in designs}
    for _ in range(batches):
        for d in designs:
            bursts[d.label].append(await d.end_to_end(cfg.in_flight))
    for label, runs in bursts.items():
        res.e2e[label] = total / sum(b.seconds for b in runs)
        res.burst_latency[label] = [x for b in runs for x in b.latencies_us]
        res.threads_burst[label] = max(b.threads for b in runs)

    # low load: interleaved chunks so drift hits every design alike
    chunk = max(10, cfg.sequential // 10)
    for d in [*designs, LIMIT]:
        res.low_latency[d if isinstance(d, str) else d.label] = []
    for _ in range(cfg.sequential // chunk):
        for d in designs:
            res.low_latency[d.label] += await _sequential(d, chunk)
        res.low_latency[LIMIT] += _limit_sequential(env, chunk)
    res.threads_low = thread_count()
    res.low_latency[PINGPONG] = _pingpong_one_way(env, cfg.pingpong)
    res.pool_workers = designs[[d.label for d in designs].index(POOL)].workers
    return res


def _rows(res: Results, cfg: Config) -> list[Row]:
    rows: list[Row] = []
    burst = f"{cfg.total // 1000}k ops, {cfg.in_flight // 1000}k in flight"
    pool = f"{POOL} ({res.pool_workers} workers)"
    for mode, rates, targets in (
        ("dispatch only", res.dispatch, {NAIVE: 10.0, POOL: None}),
        ("end to end", res.e2e, {NAIVE: 2.0, POOL: 10.0}),
    ):
        for base, target in (*targets.items(), (LIMIT, None)):
            rows.append(
                row(
                    NAME,
                    f"{mode} throughput ({burst})",
                    "completions/s",
                    rates[BRIDGE],
                    baseline=pool if base == POOL else base,
                    baseline_value=rates[base],
                    target=target,
                )
            )
    low = res.low_latency
    for q, bases in ((50, (NAIVE, POOL, LIMIT, PINGPONG)), (99, (NAIVE, POOL, LIMIT))):
        for base in bases:
            rows.append(
                row(
                    NAME,
                    f"callback-to-awaiter latency p{q}, 1 in flight",
                    "us",
                    percentile(low[BRIDGE], q),
                    baseline=pool if base == POOL else base,
                    baseline_value=percentile(low[base], q),
                    higher_is_better=False,
                    target=1.0 if (q, base) == (50, NAIVE) else None,
                )
            )
    for q in (50, 99):
        for base in (NAIVE, POOL, LIMIT):
            rows.append(
                row(
                    NAME,
                    f"callback-to-awaiter latency p{q}, {cfg.in_flight // 1000}k burst",
                    "us",
                    percentile(res.burst_latency[BRIDGE], q),
                    baseline=pool if base == POOL else base,
                    baseline_value=percentile(res.burst_latency[base], q),
                    higher_is_better=False,
                )
            )
    # A fixed handful of threads: as many with 10k operations waiting as with one.
    rows.append(
        row(
            NAME,
            f"process threads, {cfg.in_flight // 1000}k waiting (target: as with 1 waiting)",
            "threads",
            res.threads_burst[BRIDGE],
            baseline=pool,
            baseline_value=res.threads_burst[POOL],
            higher_is_better=False,
            target=res.threads_low,
            check="value<=",
        )
    )
    return rows


def run(quick: bool = False) -> list[Row]:
    cfg = QUICK if quick else FULL
    env = environment()
    res = asyncio.run(_measure(env, cfg))
    for label, samples in res.low_latency.items():
        SAMPLES.setdefault(f"{label}|1 in flight", []).extend(samples)
    for label, samples in res.burst_latency.items():
        SAMPLES.setdefault(f"{label}|{cfg.in_flight // 1000}k burst", []).extend(samples)
    return _rows(res, cfg)


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv[1:]):
        print({k: v for k, v in r.items() if not k.startswith("_")})
    print("median low-load latency (us):", {k: round(median(v), 1) for k, v in SAMPLES.items()})
