"""Golden JSON documents (see golden/README.md for their provenance) against the types.

Each ``golden/<module>.<Type>.<case>.json`` must decode into ``<module>.<Type>`` and encode
back to the same JSON, except for keys the type deliberately does not model (ignored on
decode: responses accept newer fields) and keys whose value is the field's default
(omitted on encode, like Go's omitempty).
"""

import datetime
import json
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from hcsaio import schema
from hcsaio.schema import v2

# The generated modules, not the facades: they also hold the non-public
# types (response envelopes and the like) that the records describe.
from hcsaio.schema._generated import hcn, hns, v1

GOLDEN = Path(__file__).resolve().parent / "golden"
FILES = sorted(p.name for p in GOLDEN.glob("*.json"))
MODULES = {"v2": v2, "v1": v1, "hcn": hcn, "hns": hns}

#: Keys present on purpose that the types do not model (fields newer than hcsshim's data).
NOT_MODELLED = {
    "v2.SystemExitStatus.forced_exit.json": {"$.Attribution"},
    "v2.Properties.enumerate_basic.json": {"$.AreUpdatesPending", "$.ObRoot"},
    "hcn.HostComputeNetwork.newer_host.json": {"$.State"},
}
#: Documents whose re-encoding differs by design (100 ns timestamps -> microseconds).
LOSSY = {"v2.Properties.hcs_timestamps.json"}


def golden_type(name: str) -> type[msgspec.Struct]:
    module, type_name, _case, _ext = name.split(".")
    cls: type[msgspec.Struct] = getattr(MODULES[module], type_name)
    assert issubclass(cls, msgspec.Struct)
    return cls


def load(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def canonical(value: Any, info: mi.Type, path: str, ignored: set[str]) -> Any:
    """``value`` as the type encodes it: without the ignored keys, without keys holding the
    field default where the struct omits defaults, with them where it sends every field."""
    if value is None:
        return None
    if isinstance(info, mi.UnionType):
        inner = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return canonical(value, inner[0], path, ignored)
    if isinstance(info, mi.StructType):
        fields = {f.encode_name: f for f in info.fields}
        omit_defaults = info.cls.__struct_config__.omit_defaults
        out = {}
        for key, item in value.items():
            here = f"{path}.{key}"
            if here in ignored:
                continue
            assert key in fields, f"{here} is not a field of {info.cls.__name__}"
            field = fields[key]
            omitted_default = not field.required and field.default is not msgspec.NODEFAULT
            if omit_defaults and omitted_default and msgspec.to_builtins(field.default) == item:
                continue
            out[key] = canonical(item, field.type, here, ignored)
        if not omit_defaults:  # encoded with every field, as Go sends it
            for key, field in fields.items():
                if key not in out and field.default is not msgspec.NODEFAULT:
                    out[key] = msgspec.to_builtins(field.default)
        return out
    if isinstance(info, mi.ListType):
        return [canonical(v, info.item_type, f"{path}[]", ignored) for v in value]
    if isinstance(info, mi.DictType):
        return {k: canonical(v, info.value_type, f"{path}.{k}", ignored) for k, v in value.items()}
    return value


def test_every_golden_file_has_provenance() -> None:
    readme = (GOLDEN / "README.md").read_text("utf-8")
    assert FILES, "no golden documents"
    for name in FILES:
        assert f"`{name}`" in readme, f"{name} is not described in golden/README.md"


@pytest.mark.parametrize("name", FILES)
def test_golden_decodes(name: str) -> None:
    cls = golden_type(name)
    obj = schema.decode(load(name), cls)
    assert isinstance(obj, cls)
    assert schema.decode(load(name).decode("utf-8"), cls) == obj


@pytest.mark.parametrize("name", [n for n in FILES if n not in LOSSY])
def test_golden_encodes_back(name: str) -> None:
    cls = golden_type(name)
    obj = schema.decode(load(name), cls)
    expected = canonical(
        json.loads(load(name)), mi.type_info(cls), "$", NOT_MODELLED.get(name, set())
    )
    assert json.loads(schema.encode(obj)) == expected


def test_container_document_fields() -> None:
    doc = schema.decode(load("v2.ComputeSystem.process_isolated_container.json"), v2.ComputeSystem)
    assert doc.container is not None and doc.container.memory is not None
    assert doc.container.memory.size_in_mb == 2048
    assert doc.container.storage is not None and doc.container.storage.layers is not None
    assert doc.container.storage.layers[0].id.startswith("8a7bc2f1")
    registry = doc.container.registry_changes
    assert registry is not None and registry.add_values is not None
    assert registry.add_values[0].type is v2.RegistryValueType.STRING
    assert doc.schema_version == v2.Version(major=2, minor=1)


def test_process_counters_above_int32() -> None:
    props = schema.decode(load("v2.Properties.statistics_process_list.json"), v2.Properties)
    assert props.process_list is not None
    w3wp = props.process_list[1]
    assert w3wp.memory_commit_bytes == 3 * 2**30
    assert w3wp.user_time100ns == 27343750000
    assert w3wp.create_timestamp == datetime.datetime(
        2024, 3, 1, 10, 0, 2, 250001, tzinfo=datetime.UTC
    )


def test_hcs_timestamps_round_to_microseconds() -> None:
    props = schema.decode(load("v2.Properties.hcs_timestamps.json"), v2.Properties)
    assert props.statistics is not None and props.process_list is not None
    utc = datetime.UTC
    assert props.statistics.timestamp == datetime.datetime(
        2024, 3, 1, 10, 15, 30, 123457, tzinfo=utc
    )
    assert props.statistics.container_start_time == datetime.datetime(2024, 3, 1, 10, 0, tzinfo=utc)
    assert props.process_list[0].create_timestamp == datetime.datetime(
        2024, 3, 1, 10, 0, 1, tzinfo=utc
    )


def test_exit_status_and_error_documents() -> None:
    status = schema.decode(load("v2.SystemExitStatus.forced_exit.json"), v2.SystemExitStatus)
    assert status.status == 0x80370107 - 2**32  # HCS_E_TERMINATED
    assert status.exit_type == "ForcedExit"
    error = schema.decode(load("v2.ResultError.invalid_json.json"), v2.ResultError)
    assert error.error == 0x8037010D - 2**32  # HCS_E_INVALID_JSON
    assert error.error_events is not None and error.error_events[0].event_id == 11058
    process = schema.decode(load("v2.ProcessStatus.exited.json"), v2.ProcessStatus)
    assert process.exit_code == 0xC000013A


def test_newer_host_network_keeps_unknown_enum_values() -> None:
    network = schema.decode(load("hcn.HostComputeNetwork.newer_host.json"), hcn.HostComputeNetwork)
    assert network.type == "Mirrored"  # not in hcsshim's NetworkType
    assert isinstance(network.type, hcn.NetworkType)
    assert network.flags == 1048576
    assert json.loads(schema.encode(network))["Type"] == "Mirrored"


def test_policy_settings_convert_to_typed_settings() -> None:
    endpoint = schema.decode(
        load("hcn.HostComputeEndpoint.port_mapping.json"), hcn.HostComputeEndpoint
    )
    assert endpoint.policies is not None
    policy = endpoint.policies[0]
    assert policy.type is hcn.EndpointPolicyType.PORT_MAPPING
    setting = schema.convert(policy.settings, hcn.PortMappingPolicySetting)
    assert (setting.protocol, setting.internal_port, setting.external_port) == (6, 80, 8080)


def test_hns_endpoint_state_and_policy_list() -> None:
    endpoint = schema.decode(load("hns.HNSEndpoint.attached.json"), hns.HNSEndpoint)
    assert endpoint.state is hns.EndpointState.ATTACHED
    assert endpoint.policies is not None
    nat = schema.convert(endpoint.policies[0], hns.NatPolicy)
    assert nat.type is hns.PolicyType.NAT and nat.external_port == 8080
    policy_list = schema.decode(load("hns.PolicyList.elb.json"), hns.PolicyList)
    assert policy_list.endpoint_references == ["/endpoints/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]
    assert policy_list.policies is not None
    elb = schema.convert(policy_list.policies[0], hns.ELBPolicy)
    assert elb.ilb and elb.vips == ["10.96.0.10"] and elb.internal_port == 80
