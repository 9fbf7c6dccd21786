"""Property tests over every generated struct, with values drawn from the struct's own types.

* encode -> decode gives back an equal object;
* a response type decodes a document with unknown fields added at every level;
* a request type rejects an unknown field;
* a value of the wrong JSON type fails with a SchemaError naming the field's path.
"""

import datetime
import enum
import json
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hcsaio import schema
from hcsaio.schema import hcn, hns, v1, v2
from hcsaio.schema._base import OpenIntEnum, OpenStrEnum

MAX_DEPTH = 4
SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def all_structs() -> list[type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    for module in (v2, v1, hcn, hns):
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, msgspec.Struct)
                and obj not in (schema.RequestStruct, schema.ResponseStruct)
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[name] for name in sorted(found)]


STRUCTS = all_structs()
RESPONSES = [c for c in STRUCTS if issubclass(c, schema.ResponseStruct)]
REQUESTS = [c for c in STRUCTS if issubclass(c, schema.RequestStruct)]


def type_id(cls: type) -> str:
    return f"{cls.__module__.rpartition('.')[2]}.{cls.__name__}"


def enum_strategy(cls: type[enum.Enum]) -> st.SearchStrategy[Any]:
    known = st.sampled_from(list(cls.__members__.values()))
    if issubclass(cls, enum.IntFlag):
        return known | st.integers(min_value=0, max_value=2**31 - 1).map(cls)
    if issubclass(cls, OpenStrEnum):  # values a newer host may send
        return known | st.text(min_size=1, max_size=10).map(cls)
    if issubclass(cls, OpenIntEnum):
        return known | st.integers(min_value=0, max_value=2**32 - 1).map(cls)
    return known


_STRUCT_STRATEGIES: dict[tuple[type, int], st.SearchStrategy[Any]] = {}


def strategy(info: mi.Type, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of msgspec type ``info``; containers and optional fields stop at MAX_DEPTH."""
    size = 3 if depth < MAX_DEPTH else 0
    if isinstance(info, mi.IntType):
        low = -(2**63) if info.ge is None else info.ge
        high = 2**64 - 1 if info.le is None else info.le
        return st.integers(min_value=low, max_value=high)
    if isinstance(info, mi.StrType):
        return st.text(max_size=12)
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.FloatType):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(info, mi.BytesType):
        return st.binary(max_size=12)
    if isinstance(info, mi.DateTimeType):
        return st.datetimes(timezones=st.just(datetime.UTC))
    if isinstance(info, mi.UUIDType):
        return st.uuids()
    if isinstance(info, mi.AnyType):
        return JSON_VALUES
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.EnumType):
        return enum_strategy(info.cls)
    if isinstance(info, mi.ListType):
        return st.lists(strategy(info.item_type, depth + 1), max_size=size)
    if isinstance(info, mi.TupleType):
        return st.tuples(*(strategy(t, depth + 1) for t in info.item_types))
    if isinstance(info, mi.DictType):
        return st.dictionaries(
            strategy(info.key_type, depth + 1), strategy(info.value_type, depth + 1), max_size=size
        )
    if isinstance(info, mi.UnionType):
        if depth >= MAX_DEPTH and any(isinstance(t, mi.NoneType) for t in info.types):
            return st.none()
        return st.one_of(*(strategy(t, depth) for t in info.types))
    if isinstance(info, mi.StructType):
        key = (info.cls, depth)
        if key not in _STRUCT_STRATEGIES:
            _STRUCT_STRATEGIES[key] = struct_strategy(info, depth)
        return _STRUCT_STRATEGIES[key]
    raise AssertionError(f"no strategy for {info!r}")


def struct_strategy(info: mi.StructType, depth: int) -> st.SearchStrategy[Any]:
    required = {f.name: strategy(f.type, depth + 1) for f in info.fields if f.required}
    optional = {
        f.name: strategy(f.type, depth + 1)
        for f in info.fields
        if not f.required and depth < MAX_DEPTH
    }
    cls = info.cls
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: cls(**kw))


def instances(cls: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    return strategy(mi.type_info(cls))


def add_unknown_fields(value: Any, info: mi.Type) -> Any:
    """``value`` (JSON builtins of a document of type ``info``) with an unknown field added
    to every object that is a struct."""
    if value is None:
        return None
    if isinstance(info, mi.UnionType):
        inner = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return add_unknown_fields(value, inner[0]) if len(inner) == 1 else value
    if isinstance(info, mi.StructType):
        fields = {f.encode_name: f.type for f in info.fields}
        out = {k: add_unknown_fields(v, fields[k]) for k, v in value.items()}
        out["ZzAddedByANewerHost"] = {"Nested": [1, "two", None], "Flag": True}
        return out
    if isinstance(info, mi.ListType):
        return [add_unknown_fields(v, info.item_type) for v in value]
    if isinstance(info, mi.TupleType):
        return [add_unknown_fields(v, t) for v, t in zip(value, info.item_types, strict=True)]
    if isinstance(info, mi.DictType):
        return {k: add_unknown_fields(v, info.value_type) for k, v in value.items()}
    return value


STRING_LIKE = (mi.StrType, mi.DateTimeType, mi.UUIDType, mi.BytesType)


def wrong_json_value(info: mi.Type) -> Any:
    """A JSON value that can never decode as ``info``."""
    if isinstance(info, mi.UnionType):
        inner = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return wrong_json_value(inner[0])
    if isinstance(info, STRING_LIKE):
        return 12345
    if isinstance(info, mi.EnumType) and issubclass(info.cls, str):
        return 12345
    return "certainly not the right type"


@pytest.mark.parametrize("cls", STRUCTS, ids=type_id)
@SETTINGS
@given(data=st.data())
def test_encode_decode_round_trip(cls: type[msgspec.Struct], data: st.DataObject) -> None:
    obj = data.draw(instances(cls))
    assert schema.decode(schema.encode(obj), cls) == obj
    assert schema.decode(schema.encode(obj).decode("utf-8"), cls) == obj  # str input too


@pytest.mark.parametrize("cls", RESPONSES, ids=type_id)
@SETTINGS
@given(data=st.data())
def test_response_ignores_unknown_fields(cls: type[msgspec.Struct], data: st.DataObject) -> None:
    obj = data.draw(instances(cls))
    document = add_unknown_fields(msgspec.to_builtins(obj), mi.type_info(cls))
    assert "ZzAddedByANewerHost" in document
    assert schema.decode(json.dumps(document), cls) == obj


@pytest.mark.parametrize("cls", REQUESTS, ids=type_id)
@SETTINGS
@given(data=st.data())
def test_request_rejects_unknown_fields(cls: type[msgspec.Struct], data: st.DataObject) -> None:
    document = msgspec.to_builtins(data.draw(instances(cls)))
    document["ZzTypo"] = 1
    with pytest.raises(schema.SchemaError, match="unknown field `ZzTypo`"):
        schema.decode(json.dumps(document), cls)


def typed_fields(cls: type[msgspec.Struct]) -> list[mi.Field]:
    """Fields whose JSON type is constrained (everything but ``Any``)."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return [f for f in info.fields if not isinstance(f.type, mi.AnyType)]


@pytest.mark.parametrize("cls", [c for c in STRUCTS if typed_fields(c)], ids=type_id)
@SETTINGS
@given(data=st.data())
def test_wrong_type_names_the_path(cls: type[msgspec.Struct], data: st.DataObject) -> None:
    document = msgspec.to_builtins(data.draw(instances(cls)))
    field = data.draw(st.sampled_from(typed_fields(cls)))
    document[field.encode_name] = wrong_json_value(field.type)
    with pytest.raises(schema.SchemaError) as caught:
        schema.decode(json.dumps(document), cls)
    assert caught.value.path == f"$.{field.encode_name}"
    assert isinstance(caught.value, ValueError)
