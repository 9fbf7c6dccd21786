"""The compiled bridge module. Only ``hcsaio._native`` imports this."""

from hcsaio._bridge import ffi, lib

__all__ = ["ffi", "lib"]
