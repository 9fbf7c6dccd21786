"""Choosing and loading the HCS library (the *backend*), above ``_native``.

* Windows: ``computecore.dll``, loaded with a System32-only search so a
  planted DLL in the working directory or on PATH is never picked up.
* Linux: libhcsemu, the emulator's implementation of the same ABI; a private
  emulator service is started on first use unless
  ``HCSAIO_EMULATOR_SOCKET`` names a shared one.
* ``HCSAIO_LIBRARY=/path/to/lib`` forces a specific library (tests use it for
  the fake computecore; sanitizer runs for an instrumented libhcsemu).

``_native.library`` only opens a path and reports raw results; the choice,
the emulator launcher and the error for a library that does not load live
here, so the bindings stay a leaf.

Loading happens once per process; on Linux it may start the private
emulator service (a subprocess, a fraction of a second), so the first
:func:`library` call runs in a worker thread.
"""

from __future__ import annotations

import os
import sys
import threading

import anyio.to_thread

from .._native import library as native_library
from .._native.library import BackendKind, Library
from ..errors import error_from_hresult

__all__ = [
    "BackendKind",
    "Library",
    "connected_library",
    "default_library",
    "library",
    "load_library",
]


def load_library(
    path: str, *, kind: BackendKind = "custom", system32_only: bool = False
) -> Library:
    """Open ``path`` and resolve every export hcsaio binds. Missing exports are
    recorded, not fatal. Raises ``LibraryNotFound`` if the file cannot be
    loaded at all."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise ValueError(f"library path must be a non-empty str without NULs, got {path!r}")
    index, message = native_library.open_library(path, system32_only=system32_only)
    if index < 0:
        raise error_from_hresult(index, "LoadLibrary", message=f"{path}: {message}")
    return native_library.describe(index, path, kind)


_default: Library | None = None
_default_lock = threading.Lock()


def _open_default() -> Library:
    forced = os.environ.get("HCSAIO_LIBRARY")
    if forced:
        return load_library(forced, kind="custom")
    if sys.platform == "win32":
        return load_library("computecore.dll", kind="windows", system32_only=True)
    else:
        from ..emulator import _launcher

        path = _launcher.library_path()
        _launcher.ensure_service()
        return load_library(path, kind="emulator")


def default_library() -> Library:
    """The process-wide backend, loaded (and on Linux, its emulator service
    started) on first use. Thread-safe."""
    global _default
    current = _default
    if current is not None:
        return current
    with _default_lock:
        if _default is None:
            _default = _open_default()
        return _default


def loaded_default() -> Library | None:
    """The default library if it has been loaded, without loading it."""
    return _default


async def library() -> Library:
    """The default library, loaded off the event loop the first time."""
    loaded = _default
    if loaded is not None:
        return loaded
    return await anyio.to_thread.run_sync(default_library)


async def connected_library(timeout: float | None) -> Library:
    """The default library, with its service connection up.

    libhcsemu's asynchronous exports (HcsCreateComputeSystem,
    HcsEnumerateComputeSystems) connect inline on the calling thread when
    the connection is down (first use, after a service restart, another
    ``HCSAIO_EMULATOR_SOCKET``): on the event loop, up to the handshake's
    bounded wait. So when the library says it is not connected, a
    synchronous call (HcsGetServiceProperties, a round trip only then)
    makes the connection on a bridge worker first, bounded by ``timeout``;
    a service that is absent or does not answer fails here
    (``ServiceNotAvailable``, ``HcsTimeoutError``). computecore.dll has no
    such connection: nothing to do."""
    lib = await library()
    if native_library.connected(lib.index) == 0:
        from . import _sync  # here: _sync needs the dispatcher, loading needs neither

        name = "HcsGetServiceProperties"
        outcome = await _sync.call(lib, name, (None,), timeout=timeout)
        _sync.check(outcome, name, document=outcome.values[0])
    return lib
