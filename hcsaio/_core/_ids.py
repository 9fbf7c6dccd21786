"""Validation of compute system ids, before anything reaches HCS.

HCS accepts any string as an id, but ids travel through JSON, file paths
(hcsshim names layer folders after them) and logs, so hcsaio accepts the
safe subset every runtime uses: GUIDs, hex digests and simple names.
"""

from __future__ import annotations

import re
from typing import Final

MAX_ID_LENGTH: Final = 255
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-{}]*")


def check_id(value: object, what: str = "compute system id") -> str:
    """Return ``value`` if it is a valid id; raise TypeError/ValueError naming the problem."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{what} is {len(value)} characters long; the limit is {MAX_ID_LENGTH}")
    if not value[0].isascii() or not value[0].isalnum():
        raise ValueError(
            f"{what} {value!r} starts with {value[0]!r}: it must start with a letter or digit"
        )
    if not _ID.fullmatch(value):
        bad = next(c for c in value if not re.fullmatch(r"[A-Za-z0-9_.\-{}]", c))
        raise ValueError(
            f"{what} {value!r} contains {bad!r}: use letters, digits, '_', '.', '-' "
            "(and braces for GUIDs)"
        )
    return value
