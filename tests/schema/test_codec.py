"""encode/decode/convert: inputs accepted, what is checked, and errors that name the path."""

import pytest

from hcsaio import schema
from hcsaio.schema import hcn, hns, v2


def error_of(data: str | bytes, cls: object) -> schema.SchemaError:
    with pytest.raises(schema.SchemaError) as caught:
        schema.decode(data, cls)
    return caught.value


@pytest.mark.parametrize(
    "data",
    [
        b'{"ProcessId": 7, "Exited": true}',
        '{"ProcessId": 7, "Exited": true}',
        bytearray(b'{"ProcessId": 7, "Exited": true}'),
        memoryview(b'{"ProcessId": 7, "Exited": true}'),
    ],
)
def test_decode_accepts_bytes_and_str(data: bytes | str) -> None:
    assert schema.decode(data, v2.ProcessStatus) == v2.ProcessStatus(process_id=7, exited=True)


def test_errors_are_value_errors_with_the_path() -> None:
    error = error_of('{"Container": {"Memory": {"SizeInMB": "lots"}}}', v2.ComputeSystem)
    assert isinstance(error, ValueError)
    assert error.path == "$.Container.Memory.SizeInMB"
    assert error.reason == "Expected `int`, got `str`"
    assert str(error) == "Expected `int`, got `str` - at `$.Container.Memory.SizeInMB`"
    assert error.__cause__ is not None


def test_top_level_errors_have_the_root_path() -> None:
    assert error_of("[1, 2]", v2.ComputeSystem).path == "$"
    unknown = error_of('{"Ownr": "x"}', v2.ComputeSystem)
    assert unknown.path == "$" and "Ownr" in unknown.reason


def test_path_includes_list_indexes() -> None:
    data = '{"ProcessList": [{"ProcessId": 1}, {"ProcessId": "two"}]}'
    assert error_of(data, v2.Properties).path == "$.ProcessList[1].ProcessId"


def test_malformed_json_has_no_path() -> None:
    error = error_of('{"Container": ', v2.ComputeSystem)
    assert error.path is None
    assert "truncated" in error.reason


@pytest.mark.parametrize(
    ("data", "cls", "path"),
    [
        ('{"ProcessId": -1}', v2.ProcessStatus, "$.ProcessId"),  # uint32 below
        ('{"ProcessId": 4294967296}', v2.ProcessStatus, "$.ProcessId"),  # uint32 above
        ('{"LastWaitResult": 2147483648}', v2.ProcessStatus, "$.LastWaitResult"),  # int32 above
        ('{"Height": 65536}', v2.ConsoleSize, "$.Height"),  # uint16 above
        ('{"Memory": {"SizeInMB": -5}}', v2.Container, "$.Memory.SizeInMB"),  # uint64 below
        (
            '{"Statistics": {"Uptime100ns": 18446744073709551616}}',  # uint64 above
            v2.Properties,
            "$.Statistics.Uptime100ns",
        ),
        (
            '{"ProcessList": [{"MemoryCommitBytes": 18446744073709551616}]}',
            v2.Properties,
            "$.ProcessList[0].MemoryCommitBytes",
        ),
    ],
)
def test_integer_ranges_are_checked(data: str, cls: object, path: str) -> None:
    assert error_of(data, cls).path == path


def test_uint64_limits_are_exact() -> None:
    top = schema.decode('{"Uptime100ns": 18446744073709551615}', v2.Statistics)
    assert top.uptime100ns == 2**64 - 1
    with pytest.raises(ValueError, match="18446744073709551615"):
        v2.Statistics(uptime100ns=2**64)  # checked on construction too


def test_uint64_fields_are_checked_on_construction() -> None:
    with pytest.raises(TypeError, match="in field `SizeInMB`"):
        v2.Memory(size_in_mb="big")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="in field `SizeInMB`"):
        v2.Memory(size_in_mb=2**64)
    assert v2.Memory(size_in_mb=2**64 - 1).size_in_mb == 2**64 - 1


def test_request_types_reject_unknown_fields_with_path() -> None:
    error = error_of('{"Container": {"Memroy": {"SizeInMB": 1}}}', v2.ComputeSystem)
    assert error.path == "$.Container"
    assert "Memroy" in error.reason


def test_response_types_ignore_unknown_fields() -> None:
    data = '{"Id": "c1", "Added": {"x": [1]}, "Statistics": {"Uptime100ns": 5, "New": 1}}'
    props = schema.decode(data, v2.Properties)
    assert props.id == "c1" and props.statistics == v2.Statistics(uptime100ns=5)


def test_request_enums_are_closed_response_enums_open() -> None:
    error = error_of('{"PropertyTypes": ["Statistics", "Bogus"]}', v2.PropertyQuery)
    assert error.path == "$.PropertyTypes[1]"
    network = schema.decode('{"Type": "Tunnel"}', hcn.HostComputeNetwork)
    assert network.type == "Tunnel" and isinstance(network.type, hcn.NetworkType)
    endpoint = schema.decode('{"State": 42}', hns.HNSEndpoint)
    assert endpoint.state == 42 and endpoint.state.name == "UNKNOWN_42"
    assert schema.encode(endpoint) == b'{"State":42}'


def test_flags_keep_unknown_bits() -> None:
    network = schema.decode('{"Flags": 1032}', hcn.HostComputeNetwork)  # 8 | 1024 | ...
    assert network.flags == 1032
    assert hcn.NetworkFlags.DISABLE_HOST_PORT in network.flags


def test_decode_top_level_array() -> None:
    systems = schema.decode('[{"Id": "a"}, {"Id": "b", "State": "Running"}]', list[v2.Properties])
    assert [s.id for s in systems] == ["a", "b"]


def test_encode_omits_defaults_and_uses_wire_names() -> None:
    assert schema.encode(v2.ProcessStatus()) == b"{}"
    assert schema.encode(v2.Memory(size_in_mb=256)) == b'{"SizeInMB":256}'
    assert (
        schema.encode(v2.InterfaceClass(type="x", recurse=True)) == b'{"type":"x","recurse":true}'
    )
    assert schema.encode(hcn.HostComputeEndpoint(id="e")) == b'{"ID":"e"}'
    # an explicit None is not sent either; an explicit empty list is
    assert schema.encode(v2.Container(mapped_directories=None)) == b"{}"
    assert schema.encode(v2.Container(mapped_directories=[])) == b'{"MappedDirectories":[]}'


def test_go_always_sent_fields_stay_on_the_wire() -> None:
    """HCN's Version has no omitempty: Go sends Minor 0, and so does hcsaio."""
    query = hcn.HostComputeQuery(schema_version=hcn.Version(major=2, minor=0))
    assert schema.encode(query) == b'{"SchemaVersion":{"Major":2,"Minor":0}}'
    assert schema.encode(hcn.VlanPolicySetting(isolation_id=0)) == b'{"IsolationId":0}'
    assert schema.decode("{}", hcn.Version) == hcn.Version()  # still optional on decode


def test_encode_validate_catches_wrong_python_types() -> None:
    bad = v2.Processor(count="two")  # type: ignore[arg-type]
    assert schema.encode(bad) == b'{"Count":"two"}'  # msgspec does not check on init
    with pytest.raises(schema.SchemaError) as caught:
        schema.encode(bad, validate=True)
    assert caught.value.path == "$.Count"
    doc = v2.ComputeSystem(container=v2.Container(processor=v2.Processor(count=-1)))
    with pytest.raises(schema.SchemaError) as caught:
        schema.encode(doc, validate=True)
    assert caught.value.path == "$.Container.Processor.Count"


def test_encode_unencodable_value() -> None:
    with pytest.raises(schema.SchemaError, match="cannot encode"):
        schema.encode(v2.ModifySettingRequest(settings=object()))


def test_convert_reads_any_fields() -> None:
    setting = schema.convert({"Protocol": 17, "ExternalPort": 53}, hcn.PortMappingPolicySetting)
    assert setting == hcn.PortMappingPolicySetting(protocol=17, external_port=53)
    with pytest.raises(schema.SchemaError) as caught:
        schema.convert({"Protocol": "udp"}, hcn.PortMappingPolicySetting)
    assert caught.value.path == "$.Protocol"


def test_any_fields_carry_structs_on_encode() -> None:
    request = v2.ModifySettingRequest(
        resource_path="Container/MappedDirectories",
        request_type=v2.RequestType.ADD,
        settings=v2.MappedDirectory(host_path="C:\\a", container_path="C:\\b", read_only=True),
    )
    assert schema.encode(request) == (
        b'{"ResourcePath":"Container/MappedDirectories","RequestType":"Add",'
        b'"Settings":{"HostPath":"C:\\\\a","ContainerPath":"C:\\\\b","ReadOnly":true}}'
    )


def test_decoders_are_cached_per_type() -> None:
    from hcsaio.schema import _codec

    schema.decode("{}", v2.ProcessStatus)
    first = _codec._decoders[v2.ProcessStatus]
    schema.decode("{}", v2.ProcessStatus)
    assert _codec._decoders[v2.ProcessStatus] is first
