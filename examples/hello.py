"""Run a command in a container and print its output.

python examples/hello.py [COMMAND ARG...]
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from _image import container_image

import hcsaio


async def main(argv: list[str]) -> int:
    command = argv or ["sh", "-c", 'echo "hello from $(hostname), pid $$"; uname -sm']
    with container_image(hostname="hello") as document:
        name = f"hello-{uuid.uuid4().hex[:8]}"
        async with await hcsaio.create_compute_system(
            name, document, terminate_on_exit=True
        ) as container:
            await container.start(timeout=60)
            result = await container.run(*command, capture_output=True, timeout=60)
            sys.stdout.buffer.write(result.stdout or b"")
            sys.stderr.buffer.write(result.stderr or b"")
            await container.shutdown(timeout=30)
            return result.returncode


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
