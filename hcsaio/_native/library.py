"""Opening an HCS library and describing what it exports (raw results).

Which library to open (computecore.dll, libhcsemu, ``HCSAIO_LIBRARY``) and
the error for one that does not load are decided above this package, in
``hcsaio._core._backend``.

Several libraries can be loaded at once: each gets a small index that the
bridge carries in every callback token, so a completion always calls back
into the library that produced it. Libraries are never unloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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


def export_names() -> list[str]:
    """Every export hcsaio binds, in the bridge's table order."""
    return [ffi.string(lib.hb_export_name(i)).decode() for i in range(lib.hb_export_count())]


def open_library(path: str, *, system32_only: bool = False) -> tuple[int, str]:
    """``hb_library_open``: (library index >= 1, "") or (failure HRESULT,
    the loader's message)."""
    err = ffi.new("char[]", _ERR_LEN)
    index = int(
        lib.hb_library_open(
            path.encode("utf-8"), _LOAD_SEARCH_SYSTEM32 if system32_only else 0, err, _ERR_LEN
        )
    )
    return index, ffi.string(err).decode("utf-8", "replace") if index < 0 else ""


def describe(index: int, path: str, kind: BackendKind) -> Library:
    """A :class:`Library` for an opened index, with its export table."""
    exports = {
        name: bool(lib.hb_library_has_export(index, i)) for i, name in enumerate(export_names())
    }
    return Library(index=index, path=path, kind=kind, exports=exports)


def connected(index: int) -> int:
    """``hb_library_connected``: 1 if the library's service connection is up,
    0 if its next call would connect (blocking), -1 if it has none (Windows)."""
    return int(lib.hb_library_connected(index))
