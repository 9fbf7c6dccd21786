"""Run 50 commands in parallel in one container, each with its own timeout.

    python examples/parallel.py [COUNT]

Each command sleeps a little and prints its number; every fifth one sleeps
too long and is killed by its timeout. The summary shows what happened.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from _image import container_image

import hcsaio


async def one(container: hcsaio.Container, i: int) -> str:
    seconds = 5 if i % 5 == 4 else 0.1
    try:
        result = await container.run(
            "sh", "-c", f"sleep {seconds}; echo {i}", capture_output=True, timeout=2
        )
    except hcsaio.HcsTimeoutError:
        return "timeout"
    return "ok" if result.stdout == f"{i}\n".encode() else f"bad output {result.stdout!r}"


async def main(count: int) -> int:
    with container_image() as document:
        name = f"parallel-{uuid.uuid4().hex[:8]}"
        async with await hcsaio.create_compute_system(
            name, document, terminate_on_exit=True
        ) as container:
            await container.start(timeout=60)
            outcomes = await asyncio.gather(*(one(container, i) for i in range(count)))
    summary = {k: outcomes.count(k) for k in sorted(set(outcomes))}
    print(summary)
    expected_timeouts = sum(1 for i in range(count) if i % 5 == 4)
    return (
        0
        if summary == {"ok": count - expected_timeouts, "timeout": expected_timeouts}
        or (expected_timeouts == 0 and summary == {"ok": count})
        else 1
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)))
