"""What is loaded: the backend kind, the library, which exports exist."""

from __future__ import annotations

from dataclasses import dataclass

from ._backend import BackendKind, default_library


@dataclass(frozen=True)
class Capabilities:
    """The HCS library hcsaio uses in this process.

    ``backend`` is ``"windows"`` (computecore.dll from System32),
    ``"emulator"`` (libhcsemu) or ``"custom"`` (``HCSAIO_LIBRARY``);
    ``exports`` maps every function hcsaio binds to whether the library has
    it (older Windows builds lack the newer ones; calling one raises
    ``ExportNotFound``)."""

    backend: BackendKind
    library: str
    exports: dict[str, bool]

    @property
    def missing(self) -> list[str]:
        return sorted(name for name, present in self.exports.items() if not present)


def capabilities() -> Capabilities:
    """Load the backend if needed (on Linux this starts the private emulator
    service) and describe it. Importing hcsaio never loads anything."""
    lib = default_library()
    return Capabilities(backend=lib.kind, library=lib.path, exports=dict(lib.exports))
