"""An interactive shell in a container, with a pty and window resizing.

    python examples/shell.py [SHELL]

The local terminal goes into raw mode, keystrokes go to the container's
console, and SIGWINCH (a resized window) resizes the console inside.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import termios
import tty
import uuid

from _image import container_image

import hcsaio


def terminal_size() -> tuple[int, int]:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return 24, 80
    # A fresh pty reports 0x0 until someone sets a size.
    return (size.lines or 24), (size.columns or 80)


@contextlib.contextmanager
def raw_terminal():
    if not sys.stdin.isatty():
        yield
        return
    saved = termios.tcgetattr(sys.stdin.fileno())
    tty.setraw(sys.stdin.fileno())
    try:
        yield
    finally:
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


async def interact(process: hcsaio.Process) -> int:
    loop = asyncio.get_running_loop()
    assert process.stdin is not None
    assert process.stdout is not None
    resizes: set[asyncio.Task[None]] = set()

    def keys_ready() -> None:
        data = os.read(sys.stdin.fileno(), 4096)
        if data:
            process.stdin.write(data)
        else:  # local EOF: let the shell see it too
            loop.remove_reader(sys.stdin.fileno())
            process.stdin.write(b"\x04")

    def resized() -> None:
        rows, cols = terminal_size()
        task = loop.create_task(process.resize_console(width=cols, height=rows))
        resizes.add(task)
        task.add_done_callback(resizes.discard)

    loop.add_reader(sys.stdin.fileno(), keys_ready)
    loop.add_signal_handler(signal.SIGWINCH, resized)
    try:
        while chunk := await process.stdout.read(65536):
            os.write(sys.stdout.fileno(), chunk)
        return await process.wait()
    finally:
        loop.remove_reader(sys.stdin.fileno())
        loop.remove_signal_handler(signal.SIGWINCH)


async def main(shell: str) -> int:
    with container_image(hostname="shell") as document:
        name = f"shell-{uuid.uuid4().hex[:8]}"
        async with await hcsaio.create_compute_system(
            name, document, terminate_on_exit=True
        ) as container:
            await container.start(timeout=60)
            process = await container.exec(
                shell,
                tty=True,
                stdin=hcsaio.PIPE,
                stdout=hcsaio.PIPE,
                console_size=terminal_size(),
                env={"TERM": os.environ.get("TERM", "xterm"), "PS1": "container$ "},
            )
            with raw_terminal():
                code = await interact(process)
            await process.close()
            return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "sh")))
