"""Every generated type against the shared hcsshim data, field by field.

For each struct record: the class exists under the Go name, has exactly the record's
fields in order (wire names; attribute = snake_case of the Go name), is required exactly
when Go always sends the field and the type is not a response, defaults to None/zero as Go's
kind dictates, and has the Go type (integer ranges included). Enums list the same values;
aliases resolve to the same types. The deliberate departures from the data are listed here,
so changing one is a visible decision.
"""

import enum
import re
import types
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from hcsaio import schema
from hcsaio.schema import v2

# The generated modules, not the facades: they also hold the non-public
# types (response envelopes and the like) that the records describe.
from hcsaio.schema._generated import hcn, hns, v1

MODULES: dict[str, types.ModuleType] = {"v2": v2, "v1": v1, "hcn": hcn, "hns": hns}

#: Records deliberately not generated: the Swagger client leftovers of schema2.
OMITTED = {("v2", "APIKey"), ("v2", "BasicAuth"), ("v2", "Configuration"), ("v2", "contextKey")}

#: Types added to v2 beyond the data: the guestrequest enums that schema2 fields refer to.
ADDED = {
    "RequestType": {"Add", "Remove", "PreAdd", "Update"},
    "ProcessModifyOperation": {"ConsoleSize", "CloseHandle"},
    "STDIOHandle": {"StdIn", "StdOut", "StdErr", "All"},
}

#: Integer fields widened from hcsshim's Swagger-generated type to the range the public
#: HCS schema reference (SchemaReference.md) documents.
WIDENED = {
    ("v2", "ProcessDetails", "ProcessId"): "uint32",
    ("v2", "ProcessDetails", "UserTime100ns"): "uint64",
    ("v2", "ProcessDetails", "KernelTime100ns"): "uint64",
    ("v2", "ProcessDetails", "MemoryCommitBytes"): "uint64",
    ("v2", "ProcessDetails", "MemoryWorkingSetPrivateBytes"): "uint64",
    ("v2", "ProcessDetails", "MemoryWorkingSetSharedBytes"): "uint64",
    ("v2", "SharedMemoryRegion", "StartOffset"): "uint64",
    ("v2", "SharedMemoryRegion", "Length"): "uint64",
    ("v2", "SharedMemoryRegionInfo", "GuestPhysicalAddress"): "uint64",
    ("v2", "VirtualNodeInfo", "VirtualProcessorCount"): "uint32",
    ("v2", "VirtualNodeInfo", "MemoryUsageInPages"): "uint64",
    ("v2", "StorageQoS", "IopsMaximum"): "uint64",
    ("v2", "StorageQoS", "BandwidthMaximum"): "uint64",
    ("v2", "CpuGroupProperty", "PropertyValue"): "uint64",
    ("v2", "CpuGroupAffinity", "LogicalProcessorCount"): "uint32",
    ("v2", "CpuGroupAffinity", "LogicalProcessors"): "[]uint32",
    ("v2", "Plan9Share", "Port"): "uint32",
    ("v2", "RegistryValue", "DWordValue"): "uint32",
    ("v2", "RegistryValue", "QWordValue"): "uint64",
    ("v2", "RegistryValue", "CustomType"): "uint32",
    ("v2", "Processor", "Count"): "uint32",
    ("v2", "Processor", "Weight"): "int64",
    ("v2", "Processor", "Maximum"): "int64",
    ("v2", "ObjectSymlink", "AccessMask"): "uint32",
    ("v2", "GuestConnectionInfo", "ProtocolVersion"): "uint32",
    ("v2", "Version", "Major"): "uint32",
    ("v2", "Version", "Minor"): "uint32",
}

#: Types HCS returns, checked by name (the generator derives the full set by reachability).
KNOWN_RESPONSES = {
    "v2": {
        "Properties",
        "ProcessStatus",
        "SystemExitStatus",
        "ResultError",
        "ErrorEvent",
        "EventData",
        "ServiceProperties",
        "ProcessDetails",
        "Statistics",
        "MemoryStats",
        "ProcessorStats",
        "StorageStats",
        "GuestConnectionInfo",
        "Version",
        "PropertyResponse",
        "ProcessorTopology",
        "OperationSystemMigrationNotificationInfo",
    },
    "v1": {"ContainerProperties", "Statistics", "ProcessListItem"},
    "hcn": {
        "HostComputeNetwork",
        "HostComputeEndpoint",
        "HostComputeNamespace",
        "HostComputeLoadBalancer",
        "HostComputeRoute",
        "EndpointPolicy",
        "NetworkPolicy",
        "PortMappingPolicySetting",
        "Globals",
        "hnsResponse",
    },
    "hns": {"HNSNetwork", "HNSEndpoint", "PolicyList", "ACLPolicy", "Namespace", "hnsResponse"},
}
#: Types only ever sent: they must reject unknown fields.
KNOWN_REQUESTS = {
    "v2": {
        "ComputeSystem",
        "Container",
        "VirtualMachine",
        "ProcessParameters",
        "ProcessModifyRequest",
        "ModifySettingRequest",
        "ModificationRequest",
        "PropertyQuery",
        "SaveOptions",
        "PauseOptions",
        "Layer",
        "MappedDirectory",
    },
    "v1": {"ContainerConfig", "ProcessConfig", "ComputeSystemQuery", "PropertyQuery"},
    "hcn": {"HostComputeQuery", "ModifyEndpointSettingRequest", "PolicyEndpointRequest"},
    "hns": {"EndpointAttachDetachRequest", "namespaceRequest"},
}

#: hcn ErrorCode values that the data leaves as Go expressions (winerror.h values).
RESOLVED = {
    "ErrorCode(windows.ERROR_NOT_FOUND)": 1168,
    "ErrorCode(windows.HCN_E_PORT_ALREADY_EXISTS)": 0x803B0013,
    "ErrorCode(windows.E_NOTIMPL)": 0x80004001,
}

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "int": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "byte": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    # msgspec's Meta cannot hold an upper bound beyond int64; __post_init__ checks it.
    "uint64": (0, None),
    "uint": (0, None),
}
ANY = {"interface{}", "json.RawMessage", "v1.Metrics"}
EXTERNAL = {
    "guestrequest.RequestType": ("v2", "RequestType"),
    "guestrequest.ProcessModifyOperation": ("v2", "ProcessModifyOperation"),
    "guestrequest.STDIOHandle": ("v2", "STDIOHandle"),
    "hcsschema.Version": ("v2", "Version"),
}


def generated(group: str, name: str) -> Any:
    obj = getattr(MODULES[group], name, None)
    assert obj is not None, f"{group}.{name} is not generated"
    return obj


def record_of(records: dict[str, list[dict[str, Any]]], group: str, name: str) -> dict[str, Any]:
    return next(r for r in records[group] if r["name"] == name)


def expected_fields(
    records: dict[str, list[dict[str, Any]]], group: str, record: dict[str, Any]
) -> list[dict[str, Any]]:
    """The record's wire fields, embedded structs flattened first (Go embedding)."""
    fields: list[dict[str, Any]] = []
    for field in record["fields"]:
        if "embedded" in field:
            base = record_of(records, group, field["embedded"])
            fields += expected_fields(records, group, base)
        else:
            fields.append(field)
    return fields


def split_type(go: str) -> tuple[str, str]:
    """(kind, rest) of a Go type expression."""
    if go.startswith("*"):
        return "pointer", go[1:]
    if go.startswith("[]"):
        return ("bytes", "") if go[2:] in ("byte", "uint8") else ("slice", go[2:])
    if re.match(r"\[\d+\]", go):
        return "array", go
    if go.startswith("map["):
        return "map", go
    return "name", go


def nilable(group: str, go: str, records: dict[str, list[dict[str, Any]]]) -> bool:
    """Whether a field of this Go type defaults to None (Go can leave it nil/absent)."""
    kind, rest = split_type(go)
    if kind != "name":
        return True
    if rest in INT_RANGES or rest in ("string", "bool", "float64", "float32"):
        return False
    if rest in ANY:
        return True  # Any: the default is None, without a "| None" union
    target = resolve_named(group, rest, records)
    if target is not None and target["kind"] == "alias":
        return nilable(group, target["underlying"], records)
    return True


def resolve_named(
    group: str, name: str, records: dict[str, list[dict[str, Any]]]
) -> dict[str, Any] | None:
    if name in EXTERNAL:
        ext_group, ext_name = EXTERNAL[name]
        found = [r for r in records[ext_group] if r["name"] == ext_name]
        return found[0] if found else {"name": ext_name, "kind": "string-enum", "ext": True}
    found = [r for r in records[group] if r["name"] == name]
    return found[0] if found else None


def check_type(
    info: mi.Type, go: str, group: str, records: dict[str, list[dict[str, Any]]], where: str
) -> None:
    """Assert that msgspec type ``info`` is what Go type ``go`` maps to."""
    kind, rest = split_type(go)
    if kind == "pointer":
        check_type(info, rest, group, records, where)
    elif kind == "bytes":
        assert isinstance(info, mi.BytesType), where
    elif kind == "slice":
        assert isinstance(info, mi.ListType), where
        check_type(info.item_type, rest, group, records, where + "[]")
    elif kind == "array":
        length, elem = re.fullmatch(r"\[(\d+)\](.+)", rest).groups()  # type: ignore[union-attr]
        assert isinstance(info, mi.TupleType) and len(info.item_types) == int(length), where
        for item in info.item_types:
            check_type(item, elem, group, records, where + "[i]")
    elif kind == "map":
        key, value = re.fullmatch(r"map\[([^\]]+)\](.+)", rest).groups()  # type: ignore[union-attr]
        assert isinstance(info, mi.DictType), where
        check_type(info.key_type, key, group, records, where + "{key}")
        check_type(info.value_type, value, group, records, where + "{value}")
    elif rest in INT_RANGES:
        assert isinstance(info, mi.IntType), where
        assert (info.ge, info.le) == INT_RANGES[rest], f"{where}: {info} is not {rest}"
    elif rest == "string" or rest == "net.IP":
        assert isinstance(info, mi.StrType), where
    elif rest == "bool":
        assert isinstance(info, mi.BoolType), where
    elif rest in ("float64", "float32"):
        assert isinstance(info, mi.FloatType), where
    elif rest == "time.Time":
        assert isinstance(info, mi.DateTimeType), where
    elif rest == "guid.GUID":
        assert isinstance(info, mi.UUIDType), where
    elif rest in ANY:
        assert isinstance(info, mi.AnyType), where
    else:
        target = resolve_named(group, rest, records)
        assert target is not None, f"{where}: unknown Go type {rest}"
        if target["kind"] == "struct":
            assert isinstance(info, mi.StructType) and info.cls.__name__ == target["name"], where
        elif target["kind"] == "alias":
            check_type(info, target["underlying"], group, records, where)
        else:
            assert isinstance(info, mi.EnumType) and info.cls.__name__ == target["name"], where


def strip_none(info: mi.Type) -> mi.Type:
    if isinstance(info, mi.UnionType):
        rest = [t for t in info.types if not isinstance(t, mi.NoneType)]
        assert len(rest) == 1
        return rest[0]
    return info


def test_struct_matches_record(
    group: str, struct_record: dict[str, Any], records: dict[str, list[dict[str, Any]]]
) -> None:
    name = struct_record["name"]
    if (group, name) in OMITTED:
        assert not hasattr(MODULES[group], name), f"{name} is listed as omitted"
        return
    cls = generated(group, name)
    assert isinstance(cls, type) and issubclass(cls, msgspec.Struct)
    response = issubclass(cls, schema.ResponseStruct)
    assert response != issubclass(cls, schema.RequestStruct)
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    assert info.forbid_unknown_fields == (not response)
    wanted = expected_fields(records, group, struct_record)
    assert [f.encode_name for f in info.fields] == [f["json"] for f in wanted]
    # a response whose Go fields are all sent even when zero is encoded with every field
    sends_all = response and bool(wanted) and not any(f["omitempty"] for f in wanted)
    assert cls.__struct_config__.omit_defaults == (not sends_all)
    for field, raw in zip(info.fields, wanted, strict=True):
        where = f"{group}.{name}.{raw['go']}"
        # snake_case of the Go name: same letters, lower case, words split by "_"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", field.name), where
        assert field.name.replace("_", "") == raw["go"].lower().replace("_", ""), where
        assert field.required == (not raw["omitempty"] and not response), where
        go = WIDENED.get((group, name, raw["go"]), raw["type"])
        if not field.required:
            if nilable(group, go, records):
                assert field.default is None, where
            else:
                assert field.default in (0, "", False) and not field.default, where
        field_type = field.type
        if not field.required and nilable(group, go, records) and go.lstrip("*") not in ANY:
            assert isinstance(field_type, mi.UnionType), f"{where}: optional but not | None"
            field_type = strip_none(field_type)
        check_type(field_type, go, group, records, where)


def test_enum_matches_record(
    group: str, enum_record: dict[str, Any], records: dict[str, list[dict[str, Any]]]
) -> None:
    name = enum_record["name"]
    if (group, name) in OMITTED:
        assert not hasattr(MODULES[group], name), f"{name} is listed as omitted"
        return
    cls = generated(group, name)
    assert issubclass(cls, enum.Enum)
    if enum_record["kind"] == "string-enum":
        assert issubclass(cls, enum.StrEnum)
    elif name.endswith("Flags"):
        assert issubclass(cls, enum.IntFlag)
    else:
        assert issubclass(cls, enum.IntEnum)
    # __members__, not iteration: iterating an IntFlag skips its zero member
    generated_values = [m.value for m in cls.__members__.values()]
    assert len(generated_values) == len(enum_record["values"])
    for value, member in zip(enum_record["values"], generated_values, strict=True):
        if value["value"] is not None:
            assert member == value["value"], (name, value)
        else:  # a constant of golang.org/x/sys/windows, resolved from winerror.h
            assert member == RESOLVED[value["expr"]], (name, value)


def test_alias_matches_record(
    group: str, alias_record: dict[str, Any], records: dict[str, list[dict[str, Any]]]
) -> None:
    name = alias_record["name"]
    alias = generated(group, name)
    info = mi.type_info(alias)
    check_type(info, alias_record["underlying"], group, records, f"{group}.{name}")


def test_every_record_is_generated_or_listed(records: dict[str, list[dict[str, Any]]]) -> None:
    for group, group_records in records.items():
        for record in group_records:
            key = (group, record["name"])
            assert (key in OMITTED) != hasattr(MODULES[group], record["name"]), key


def defined_structs(group: str) -> set[str]:
    """Struct classes the generated modules of ``group`` define (not import)."""
    prefix = "hcsaio.schema._generated." + ("_v2_" if group == "v2" else group)
    return {
        name
        for name, obj in vars(MODULES[group]).items()
        if isinstance(obj, type)
        and issubclass(obj, msgspec.Struct)
        and obj.__module__.startswith(prefix)
        and obj.__name__ == name
    }


def test_coverage_counts(records: dict[str, list[dict[str, Any]]]) -> None:
    """Struct classes per module are exactly the data's struct records minus the omissions."""
    for group in MODULES:
        data = {r["name"] for r in records[group] if r["kind"] == "struct"}
        data -= {name for g, name in OMITTED if g == group}
        assert defined_structs(group) == data, group


def test_added_enums_exist() -> None:
    for name, values in ADDED.items():
        cls = getattr(v2, name)
        assert {m.value for m in cls} == values


def test_widened_fields_exist(records: dict[str, list[dict[str, Any]]]) -> None:
    for group, struct, go in WIDENED:
        record = record_of(records, group, struct)
        assert any(f.get("go") == go for f in record["fields"]), (struct, go)


@pytest.mark.parametrize(
    ("group", "name"), [(g, n) for g, names in KNOWN_RESPONSES.items() for n in sorted(names)]
)
def test_known_responses_accept_unknown_fields(group: str, name: str) -> None:
    assert issubclass(generated(group, name), schema.ResponseStruct)


@pytest.mark.parametrize(
    ("group", "name"), [(g, n) for g, names in KNOWN_REQUESTS.items() for n in sorted(names)]
)
def test_known_requests_reject_unknown_fields(group: str, name: str) -> None:
    assert issubclass(generated(group, name), schema.RequestStruct)


def all_structs() -> list[type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    for module in MODULES.values():
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, msgspec.Struct)
                and obj not in (schema.RequestStruct, schema.ResponseStruct)
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


def referenced(info: mi.Type) -> list[mi.Type]:
    if isinstance(info, mi.UnionType):
        return [t for sub in info.types for t in referenced(sub)]
    if isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return referenced(info.item_type)
    if isinstance(info, mi.TupleType):
        return [t for sub in info.item_types for t in referenced(sub)]
    if isinstance(info, mi.DictType):
        return referenced(info.key_type) + referenced(info.value_type)
    return [info]


@pytest.mark.parametrize("cls", all_structs(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_responses_are_lenient_all_the_way_down(cls: type[msgspec.Struct]) -> None:
    """Whatever a response contains is a response too, and its enums accept new values."""
    if not issubclass(cls, schema.ResponseStruct):
        return
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    for field in info.fields:
        for inner in referenced(field.type):
            if isinstance(inner, mi.StructType):
                assert issubclass(inner.cls, schema.ResponseStruct), (cls, field.name)
            if isinstance(inner, mi.EnumType):
                open_base = (schema._base.OpenStrEnum, schema._base.OpenIntEnum, enum.IntFlag)
                assert issubclass(inner.cls, open_base), (cls, field.name, inner.cls)


def field_types(cls: type[msgspec.Struct]) -> dict[str, mi.Type]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return {f.name: f.type for f in info.fields}


def test_python_types_of_go_kinds() -> None:
    """Spot checks of the documented Go -> Python mapping."""
    assert isinstance(strip_none(field_types(v2.Statistics)["timestamp"]), mi.DateTimeType)
    assert isinstance(strip_none(field_types(hcn.VmEndpointRequest)["port_id"]), mi.UUIDType)
    assert isinstance(field_types(hcn.EndpointPolicy)["settings"], mi.AnyType)
    assert hcn.SchemaVersion is hcn.Version
