"""The loaded HCS library, obtained without blocking the event loop.

Loading happens once per process; on Linux it may start the private
emulator service (a subprocess, a fraction of a second), so the first call
runs in a worker thread."""

from __future__ import annotations

import anyio.to_thread

from .._native.library import Library, default_library, loaded_default


async def library() -> Library:
    loaded = loaded_default()
    if loaded is not None:
        return loaded
    return await anyio.to_thread.run_sync(default_library)
