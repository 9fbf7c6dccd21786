"""Stdio benchmark: bytes through a container process's stdin and stdout.

``cat`` runs in a container (``Container.exec(..., stdin=PIPE, stdout=PIPE)``);
one task writes the payload to its stdin (``write`` + ``drain`` per 64 KiB,
then ``close``), another reads its stdout (``read(64 KiB)``) until EOF; the
clock runs from the process's creation returning until EOF and exit. The
baseline is exactly the same code against
``asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)`` on the
host, i.e. the raw pipes. Same payload, same chunking, alternated.

Target: at least 0.8x the raw pipe's throughput.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol

import _emulator
from _common import Row, median, row

import hcsaio

NAME = "stdio"
REPEATS = (1, 3)
CHUNK = 64 * 1024
TARGET = 0.8


@dataclass(frozen=True)
class Config:
    mib: int
    rounds: int  # alternated (hcsaio, raw) pairs per run


FULL = Config(mib=256, rounds=5)
QUICK = Config(mib=16, rounds=2)


class _Writer(Protocol):
    def write(self, data: Any) -> None: ...
    async def drain(self) -> None: ...
    def close(self) -> None: ...


class _Reader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


async def pump(stdin: _Writer, stdout: _Reader, total: int, block: memoryview) -> int:
    """Write ``total`` bytes (repeating ``block``) while reading them back."""

    async def write() -> None:
        sent = 0
        while sent < total:
            n = min(CHUNK, total - sent)
            offset = sent % len(block)
            stdin.write(block[offset : offset + n])
            await stdin.drain()
            sent += n
        stdin.close()

    async def read() -> int:
        got = 0
        while chunk := await stdout.read(CHUNK):
            got += len(chunk)
        return got

    writer = asyncio.create_task(write())
    got = await read()
    await writer
    return got


async def through_container(c: hcsaio.Container, total: int, block: memoryview) -> float:
    p = await c.exec("cat", stdin=hcsaio.PIPE, stdout=hcsaio.PIPE, timeout=60)
    async with p:
        assert p.stdin is not None
        assert p.stdout is not None
        start = time.perf_counter()
        got = await pump(p.stdin, p.stdout, total, block)
        code = await p.wait(timeout=60)
        elapsed = time.perf_counter() - start
    if got != total or code != 0:
        raise RuntimeError(f"container cat: {got} of {total} bytes, exit status {code}")
    return elapsed


async def through_host(total: int, block: memoryview) -> float:
    p = await asyncio.create_subprocess_exec(
        "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert p.stdin is not None
    assert p.stdout is not None
    start = time.perf_counter()
    got = await pump(p.stdin, p.stdout, total, block)
    code = await p.wait()
    elapsed = time.perf_counter() - start
    if got != total or code != 0:
        raise RuntimeError(f"host cat: {got} of {total} bytes, exit status {code}")
    return elapsed


_names = itertools.count()


async def _measure(cfg: Config) -> list[Row]:
    total = cfg.mib * 2**20
    block = memoryview(os.urandom(4 * 2**20))
    mode = _emulator.mode()
    layer = _emulator.base_layer() if _emulator.privileged() else None
    ours: list[float] = []
    raw: list[float] = []
    with _emulator.scratch_space() as scratch:
        name = f"bench-stdio-{os.getpid()}-{next(_names)}"
        async with _emulator.container(name, scratch, layer) as c:
            await through_container(c, 4 * CHUNK, block)  # warm up both paths
            await through_host(4 * CHUNK, block)
            for i in range(cfg.rounds):
                if i % 2:
                    raw.append(await through_host(total, block))
                ours.append(await through_container(c, total, block))
                if not i % 2:
                    raw.append(await through_host(total, block))
    mib_s = cfg.mib / median(ours)
    raw_mib_s = cfg.mib / median(raw)
    return [
        row(
            NAME,
            f"{cfg.mib} MiB through cat's stdin and stdout ({mode} mode)",
            "MiB/s",
            mib_s,
            baseline='asyncio.create_subprocess_exec("cat") on the host',
            baseline_value=raw_mib_s,
            target=TARGET,
        )
    ]


def run(quick: bool = False) -> list[Row]:
    return asyncio.run(_measure(QUICK if quick else FULL))


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv[1:]):
        print({k: v for k, v in r.items() if not k.startswith("_")})
