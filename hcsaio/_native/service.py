"""Service calls (computecore §3.4). Synchronous in HCS itself."""

from __future__ import annotations

from . import strings
from ._ffi import lib
from .result import check


def get_properties(library: int, query: str | None) -> str | None:
    """HcsGetServiceProperties: the ServiceProperties document."""
    out = strings.out_string()
    hr = lib.hb_call_HcsGetServiceProperties(library, strings.wide(query, "query"), out)
    document = strings.take(library, out)
    check(hr, "HcsGetServiceProperties", document)
    return document


def modify_settings(library: int, settings: str) -> None:
    out = strings.out_string()
    hr = lib.hb_call_HcsModifyServiceSettings(library, strings.wide(settings, "settings"), out)
    check(hr, "HcsModifyServiceSettings", strings.take(library, out))
