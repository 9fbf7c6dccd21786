"""The compiled bridge module. Only ``hcsaio._native`` imports this."""

from hcsaio._bridge import ffi, lib  # type: ignore[attr-defined]

__all__ = ["ffi", "lib"]
