"""Building blocks shared by the generated schema modules (hand-written, not generated).

Two struct bases encode the one policy that matters for wire compatibility:

* :class:`RequestStruct` — documents hcsaio *sends* (create, modify, query, process
  parameters, ...). Unknown fields are rejected on decode, so a typo in a hand-written JSON
  document fails here, with its path, instead of being dropped silently before HCS sees it.
* :class:`ResponseStruct` — documents HCS/HCN/HNS *return* (and everything reachable from
  them). Unknown fields are ignored, because newer hosts add fields; enum fields decode
  unknown values too (see :class:`OpenStrEnum`), for the same reason.

Both use ``kw_only`` (construct by keyword, any field order), ``omit_defaults`` (a field
left at its default is not sent, like Go's ``omitempty``) and the PascalCase rename rule;
the generator adds an explicit wire name wherever the wire name is irregular.

The integer aliases carry the Go type's range, so decoding ``-1`` into a ``uint32`` field or
``2**64`` into a ``uint64`` fails with the path of the field. msgspec cannot express an upper
bound beyond the int64 range in ``Meta``, so :data:`UInt64` only says ``ge=0`` and each struct
with ``uint64`` fields checks the upper bound in a generated ``__post_init__`` (msgspec runs it
after decoding and after ``__init__``, and reports its error with the path).

Structs are created with ``gc=False``: HCS documents are trees, never reference cycles, and
leaving them out of the cyclic garbage collector makes decoding large responses noticeably
faster. Do not build a cycle out of schema structs (it would never be freed).
"""

import enum
from typing import Annotated, Any, TypeAlias, get_args

import msgspec

__all__ = [
    "UINT64_MAX",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "OpenIntEnum",
    "OpenStrEnum",
    "RequestStruct",
    "ResponseStruct",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "uint64_error",
]

Int8: TypeAlias = Annotated[int, msgspec.Meta(ge=-(2**7), le=2**7 - 1)]
Int16: TypeAlias = Annotated[int, msgspec.Meta(ge=-(2**15), le=2**15 - 1)]
Int32: TypeAlias = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
Int64: TypeAlias = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
UInt8: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**8 - 1)]
UInt16: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**16 - 1)]
UInt32: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
UInt64: TypeAlias = Annotated[int, msgspec.Meta(ge=0)]  # upper bound: see module docstring

UINT64_MAX = 2**64 - 1


def uint64_error(struct: msgspec.Struct) -> ValueError | TypeError:
    """The error a generated ``__post_init__`` raises when a ``uint64`` field of ``struct`` is
    above the range (``ValueError``) or not an int at all (``TypeError``; only possible on
    construction, decoding checks types first). Runs only on that error path.

    msgspec appends the path of ``struct`` (`` - at `$.ProcessList[0]` ``); the message names
    the field, which :func:`hcsaio.schema.decode` folds into :attr:`SchemaError.path`.
    """
    for field in msgspec.structs.fields(struct):
        if not _mentions_uint64(field.type):
            continue
        value = getattr(struct, field.name)
        for item in value if isinstance(value, list | tuple) else (value,):
            if item is None:
                continue
            if not isinstance(item, int):
                kind = type(item).__name__
                return TypeError(f"Expected `int`, got `{kind}` in field `{field.encode_name}`")
            if item > UINT64_MAX:
                return ValueError(f"Expected `int` <= {UINT64_MAX} in field `{field.encode_name}`")
    return ValueError(f"Expected `int` <= {UINT64_MAX}")  # pragma: no cover - not reached


def _mentions_uint64(annotation: object) -> bool:
    return annotation == UInt64 or any(_mentions_uint64(a) for a in get_args(annotation))


class RequestStruct(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    repr_omit_defaults=True,
    forbid_unknown_fields=True,
    rename="pascal",
    gc=False,
):
    """Base of the documents hcsaio sends: unknown fields are an error on decode."""


class ResponseStruct(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    repr_omit_defaults=True,
    rename="pascal",
    gc=False,
):
    """Base of the documents HCS returns: unknown fields are ignored on decode."""


class OpenStrEnum(enum.StrEnum):
    """A string enum that also accepts values it does not list.

    Used for enums that appear in returned documents: a newer host may send a value this
    version does not know (HNS already knows network types hcsshim does not list), and
    that must not make the whole document undecodable. An unknown value becomes a
    pseudo-member whose name and value are the string itself; it compares equal to the
    plain string and encodes back unchanged.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member


class OpenIntEnum(enum.IntEnum):
    """An integer enum that also accepts values it does not list (see :class:`OpenStrEnum`).

    An unknown value becomes a pseudo-member named ``UNKNOWN_<value>``.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member
