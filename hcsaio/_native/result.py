"""HRESULTs as the ABI returns them (int32): failure iff negative.

Turning a failure into an ``HcsError`` (and decoding HCS's ``ResultError``
document) happens above this package, in ``hcsaio._core._result``."""

from __future__ import annotations

from typing import Final

S_OK: Final = 0


def failed(hresult: int) -> bool:
    return (hresult & 0xFFFFFFFF) >= 0x80000000
