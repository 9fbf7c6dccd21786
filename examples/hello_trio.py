"""hello.py on trio: the same API through anyio.

python examples/hello_trio.py
"""

from __future__ import annotations

import sys
import uuid

import trio
from _image import container_image

import hcsaio


async def main() -> int:
    with container_image(hostname="trio") as document:
        container = await hcsaio.create_compute_system(f"trio-{uuid.uuid4().hex[:8]}", document)
        try:
            await container.start(timeout=60)
            result = await container.run("echo", "hello from trio", capture_output=True, check=True)
            sys.stdout.buffer.write(result.stdout or b"")
            await container.shutdown(timeout=30)
        finally:
            await container.close()
    return 0


if __name__ == "__main__":
    sys.exit(trio.run(main))
