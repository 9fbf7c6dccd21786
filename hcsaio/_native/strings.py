"""UTF-16 in, UTF-16 out: the string rules of the HCS ABI.

Strings passed in only need to live for the call (hcsshim frees them right
after the call returns, even for asynchronous operations), so a Python
``str`` is handed to cffi, which builds a temporary ``char16_t[]``.
Strings handed back through ``PWSTR*`` are allocated by the library and
freed here, exactly once, right after decoding.
"""

from __future__ import annotations

from typing import Any

from ._ffi import ffi, lib


def wide(value: str | None, what: str) -> Any:
    """A ``PCWSTR`` argument: ``None`` becomes NULL. HCS treats NULL and
    ``L""`` alike for option strings; an embedded NUL would silently
    truncate the string, so it is refused."""
    if value is None:
        return ffi.NULL
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    return value


def out_string() -> Any:
    """A ``PWSTR*`` out-parameter, pre-set to NULL as hcsshim does."""
    return ffi.new("PWSTR *")


def take(library: int, out: Any) -> str | None:
    """Decode the string an out-parameter received and free it."""
    ptr = out[0]
    if ptr == ffi.NULL:
        return None
    try:
        text: str = ffi.string(ptr)
    finally:
        lib.hb_library_free_string(library, ptr)
        out[0] = ffi.NULL
    return text


def take_utf8(ptr: Any, length: int) -> bytes:
    """Copy a UTF-8 document produced by the bridge and free it."""
    try:
        data: bytes = ffi.unpack(ptr, length)
    finally:
        lib.hb_free(ptr)
    return data
