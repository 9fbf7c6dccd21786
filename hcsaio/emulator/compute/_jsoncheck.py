"""Strict checking of raw JSON documents, with the offending path in errors.

HCS rejects a malformed document with HCS_E_INVALID_JSON; so does the
emulator, naming the exact place (``Container.Storage.Layers[0].Path``) so a
schema bug in a client shows up as a precise message. Specs are small
functions ``(value, path) -> value`` composed into struct specs; a struct
rejects unknown keys, because a misspelt key silently ignored is exactly the
bug this service exists to catch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import cast

from ._hresults import HCS_E_INVALID_JSON, HcsFailure

Spec = Callable[[object, str], object]
JsonObject = dict[str, object]


def invalid(path: str, problem: str) -> HcsFailure:
    where = path or "(document)"
    return HcsFailure(HCS_E_INVALID_JSON, f"The JSON document is invalid at '{where}': {problem}.")


def _reject_duplicates(pairs: list[tuple[str, object]]) -> JsonObject:
    result: JsonObject = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def parse(text: str, spec: Spec, what: str) -> object:
    """Parse ``text`` and check it against ``spec``."""
    try:
        value = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError) as err:
        raise HcsFailure(HCS_E_INVALID_JSON, f"The {what} is not valid JSON: {err}.") from None
    return spec(value, "")


def parse_object(text: str, spec: Spec, what: str) -> JsonObject:
    """``parse`` for a document whose spec is a struct."""
    return cast(JsonObject, parse(text, spec, what))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def struct(fields: Mapping[str, Spec], required: frozenset[str] = frozenset()) -> Spec:
    def check(value: object, path: str) -> object:
        if not isinstance(value, dict):
            raise invalid(path, "expected an object")
        obj = cast(JsonObject, value)
        for key in obj:
            if key not in fields:
                raise invalid(_join(path, key), "unknown field")
        for key in required:
            if key not in obj:
                raise invalid(_join(path, key), "required field is missing")
        return {key: fields[key](val, _join(path, key)) for key, val in obj.items()}

    return check


def any_value(value: object, path: str) -> object:
    return value


def any_object(value: object, path: str) -> object:
    if not isinstance(value, dict):
        raise invalid(path, "expected an object")
    return value


def string(value: object, path: str) -> object:
    if not isinstance(value, str):
        raise invalid(path, "expected a string")
    return value


def boolean(value: object, path: str) -> object:
    if not isinstance(value, bool):
        raise invalid(path, "expected true or false")
    return value


def integer(lo: int, hi: int) -> Spec:
    def check(value: object, path: str) -> object:
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(path, "expected an integer")
        if not lo <= value <= hi:
            raise invalid(path, f"{value} is outside {lo}..{hi}")
        return value

    return check


def number(lo: float, hi: float) -> Spec:
    def check(value: object, path: str) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid(path, "expected a number")
        if not lo <= value <= hi:
            raise invalid(path, f"{value} is outside {lo}..{hi}")
        return float(value)

    return check


INT32 = integer(-(2**31), 2**31 - 1)
UINT16 = integer(0, 2**16 - 1)
UINT32 = integer(0, 2**32 - 1)
UINT64 = integer(0, 2**64 - 1)


def one_of(*choices: str) -> Spec:
    def check(value: object, path: str) -> object:
        if value not in choices:
            raise invalid(path, f"expected one of {', '.join(choices)}")
        return value

    return check


def list_of(item: Spec) -> Spec:
    def check(value: object, path: str) -> object:
        if not isinstance(value, list):
            raise invalid(path, "expected an array")
        return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]

    return check


def map_of(item: Spec) -> Spec:
    def check(value: object, path: str) -> object:
        if not isinstance(value, dict):
            raise invalid(path, "expected an object")
        return {k: item(v, _join(path, k)) for k, v in cast(JsonObject, value).items()}

    return check


# Typed readers for documents a spec has already checked.


def get_obj(doc: object, key: str) -> JsonObject | None:
    value = cast(JsonObject, doc).get(key)
    return cast(JsonObject, value) if value is not None else None


def get_str(doc: object, key: str) -> str | None:
    return cast("str | None", cast(JsonObject, doc).get(key))


def get_bool(doc: object, key: str) -> bool:
    return bool(cast(JsonObject, doc).get(key, False))


def get_int(doc: object, key: str) -> int | None:
    return cast("int | None", cast(JsonObject, doc).get(key))


def get_list(doc: object, key: str) -> list[object]:
    return cast("list[object]", cast(JsonObject, doc).get(key) or [])
