"""Turning what callers pass (a schema struct, a dict, JSON text) into the
JSON string an HCS call takes, validated against the schema type first so a
bad document fails here with a ``ValueError``/``TypeError`` naming the path,
not in HCS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from ..schema import SchemaError, convert, decode, encode

T = TypeVar("T", bound=msgspec.Struct)

Document = msgspec.Struct | Mapping[str, Any] | str | bytes


def to_json(document: object, type_: type[T], what: str) -> str:
    """Validate ``document`` as a ``type_`` and return it as JSON text.

    * a ``type_`` instance is checked field by field (msgspec does not check
      types on construction) and encoded;
    * a dict (wire names as keys) is converted, rejecting unknown keys in
      request documents and wrong types, with the path in the message;
    * JSON text is parsed and checked the same way, and sent as given.
    """
    try:
        if isinstance(document, type_):
            return encode(document, validate=True).decode()
        if isinstance(document, msgspec.Struct):
            raise TypeError(f"{what} must be a {type_.__name__}, not a {type(document).__name__}")
        if isinstance(document, Mapping):
            return encode(convert(dict(document), type_)).decode()
        if isinstance(document, bytes | bytearray):
            document = bytes(document).decode("utf-8")
        if isinstance(document, str):
            decode(document, type_)
            return document
    except SchemaError as error:
        raise SchemaError(f"invalid {what}: {error.reason}", error.path) from error
    except UnicodeDecodeError as error:
        raise ValueError(f"{what} is not valid UTF-8: {error}") from error
    raise TypeError(
        f"{what} must be a {type_.__name__}, a dict or a JSON string, not {type(document).__name__}"
    )


def json_object(value: object, what: str) -> dict[str, Any]:
    """A document hcsshim's schema has no struct for (shutdown and crash
    options, service queries), given as a dict or JSON text: checked to be a
    JSON object, returned as a dict."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{what} is not valid JSON: {exc}") from None
    elif isinstance(value, Mapping):
        value = dict(value)
    else:
        raise TypeError(f"{what} must be a dict or a JSON string, not {type(value).__name__}")
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def optional_json(document: object, type_: type[T], what: str) -> str | None:
    return None if document is None else to_json(document, type_, what)


def parse(data: bytes | str | None, type_: type[T], what: str) -> T:
    """Decode a document HCS returned; an empty answer is an empty struct."""
    if not data:
        return type_()
    return decode(data, type_)
