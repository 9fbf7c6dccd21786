"""Choosing, loading and describing the HCS library (the *backend*).

* Windows: ``computecore.dll``, loaded with a System32-only search so a
  planted DLL in the working directory or on PATH is never picked up.
* Linux: libhcsemu, the emulator's implementation of the same ABI; a private
  emulator service is started on first use unless
  ``HCSAIO_EMULATOR_SOCKET`` names a shared one.
* ``HCSAIO_LIBRARY=/path/to/lib`` forces a specific library (tests use it for
  the fake computecore; sanitizer runs for an instrumented libhcsemu).

Several libraries can be loaded at once: each gets a small index that the
bridge carries in every callback token, so a completion always calls back
into the library that produced it. Libraries are never unloaded.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Literal

from ..errors import error_from_hresult
from ._ffi import ffi, lib

BackendKind = Literal["windows", "emulator", "custom"]

_ERR_LEN = 512
_LOAD_SEARCH_SYSTEM32 = 1


@dataclass(frozen=True)
class Library:
    """One loaded HCS library."""

    index: int
    path: str
    kind: BackendKind
    exports: dict[str, bool] = field(repr=False, compare=False)

    def has(self, export: str) -> bool:
        return self.exports.get(export, False)


def _export_names() -> list[str]:
    return [ffi.string(lib.hb_export_name(i)).decode() for i in range(lib.hb_export_count())]


def load_library(
    path: str, *, kind: BackendKind = "custom", system32_only: bool = False
) -> Library:
    """Open ``path`` and resolve every export hcsaio binds. Missing exports are
    recorded, not fatal. Raises ``LibraryNotFound`` if the file cannot be
    loaded at all."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise ValueError(f"library path must be a non-empty str without NULs, got {path!r}")
    err = ffi.new("char[]", _ERR_LEN)
    index = lib.hb_library_open(
        path.encode("utf-8"), _LOAD_SEARCH_SYSTEM32 if system32_only else 0, err, _ERR_LEN
    )
    if index < 0:
        raise error_from_hresult(
            index, "LoadLibrary", message=f"{path}: {ffi.string(err).decode('utf-8', 'replace')}"
        )
    exports = {
        name: bool(lib.hb_library_has_export(index, i)) for i, name in enumerate(_export_names())
    }
    return Library(index=index, path=path, kind=kind, exports=exports)


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
