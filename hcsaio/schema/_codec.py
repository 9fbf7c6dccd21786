"""JSON encoding and decoding of schema documents, with errors that name the path.

One msgspec ``Encoder`` and one ``Decoder`` per target type are created lazily and reused
(building a decoder compiles the type; doing it per call would cost more than decoding a
typical HCS document).
"""

import re
from typing import Any, TypeVar, overload

import msgspec

__all__ = ["SchemaError", "convert", "decode", "encode"]

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}

# msgspec ends a validation message with " - at `$.Container.Memory.SizeInMB`"; the generated
# uint64 check (see _base.uint64_error) names its field as "in field `X`" before that.
_PATH = re.compile(
    r"^(?P<reason>.*?)(?: in field `(?P<field>[^`]+)`)?(?: - at `(?P<path>[^`]+)`)?$"
)


class SchemaError(ValueError):
    """A JSON document does not match its schema type (or is not JSON at all).

    A ``ValueError``: wrong input, detected before it reaches HCS or when HCS's answer does
    not have the expected shape. ``path`` locates the offending value in JSONPath form with
    wire names (``$.Container.Memory.SizeInMB``, ``$.ProcessList[3].ProcessId``, ``$`` for
    the document itself), or is None when the input is not valid JSON. ``reason`` is the message without the path. The
    original msgspec error is the ``__cause__``.
    """

    def __init__(self, reason: str, path: str | None) -> None:
        super().__init__(f"{reason} - at `{path}`" if path else reason)
        self.reason = reason
        self.path = path

    @classmethod
    def from_msgspec(cls, error: msgspec.MsgspecError) -> "SchemaError":
        text = str(error)
        match = _PATH.match(text)
        if match is None:  # pragma: no cover - the pattern matches any single-line text
            return cls(text, None)
        path = match["path"]
        if path is None and isinstance(error, msgspec.ValidationError):
            path = "$"  # msgspec leaves the path out for the top-level object
        if match["field"]:
            path = f"{path}.{match['field']}"
        return cls(match["reason"], path)


def encode(obj: Any, *, validate: bool = False) -> bytes:
    """Encode a schema struct (or any JSON-compatible value) to compact UTF-8 JSON.

    Fields left at their default are omitted, like Go's ``omitempty``. msgspec does not check
    types when a struct is constructed, so ``v2.Memory(size_in_mb="big")`` would encode as
    written; pass ``validate=True`` to check the result against ``type(obj)`` (it costs one
    extra decode; only structs are checked) and get a :class:`SchemaError` with the path
    instead. Use it for documents assembled from user input before they are sent to HCS.
    """
    try:
        data = _encoder.encode(obj)
    except (msgspec.EncodeError, TypeError, OverflowError) as error:
        raise SchemaError(f"cannot encode {type(obj).__name__}: {error}", None) from error
    if validate and isinstance(obj, msgspec.Struct):
        decode(data, type(obj))
    return data


@overload
def decode(data: bytes | bytearray | memoryview | str, type: type[T]) -> T: ...
@overload
def decode(data: bytes | bytearray | memoryview | str, type: Any) -> Any: ...
def decode(data: bytes | bytearray | memoryview | str, type: Any) -> Any:
    """Decode JSON text (bytes or str) into ``type`` (a schema struct, ``list[...]``, ...).

    Unknown fields are ignored in response types and rejected in request types; integer
    ranges, enum values and required fields are checked. Raises :class:`SchemaError`.
    """
    decoder = _decoder(type)
    try:
        return decoder.decode(data)
    except msgspec.MsgspecError as error:
        raise SchemaError.from_msgspec(error) from error


@overload
def convert(obj: Any, type: type[T]) -> T: ...
@overload
def convert(obj: Any, type: Any) -> Any: ...
def convert(obj: Any, type: Any) -> Any:
    """Convert already-decoded JSON values (dicts keyed by wire names, lists, ...) to ``type``.

    For the ``Any`` fields of a document: ``convert(policy.settings,
    hcn.PortMappingPolicySetting)`` or ``convert(props.property_responses[...].response, ...)``.
    Same checks and errors as :func:`decode`.
    """
    try:
        return msgspec.convert(obj, type, strict=True)
    except msgspec.MsgspecError as error:
        raise SchemaError.from_msgspec(error) from error


def _decoder(type: Any) -> msgspec.json.Decoder[Any]:
    try:
        return _decoders[type]
    except KeyError:
        decoder = _decoders[type] = msgspec.json.Decoder(type)
        return decoder
    except TypeError:  # unhashable type expression: build it each time
        return msgspec.json.Decoder(type)
