"""container_document() and process_parameters(): the documents users should not hand-write."""

import json
import os
import uuid

import pytest

from hcsaio import schema
from hcsaio.schema import v2


def test_full_container_document() -> None:
    doc = schema.container_document(
        owner="demo",
        layers=["C:\\layers\\app", "C:\\layers\\base"],
        scratch_dir="C:\\scratch\\c1",
        mapped_directories=[("C:\\data", "C:\\data", True), ("C:\\logs", "C:\\logs")],
        memory_mb=512,
        cpu_count=2,
        hostname="c1",
        endpoints=["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"],
        dns_search=["corp.example.com", "example.com"],
    )
    assert json.loads(schema.encode(doc, validate=True)) == {
        "Owner": "demo",
        "SchemaVersion": {"Major": 2, "Minor": 1},
        "Container": {
            "GuestOs": {"HostName": "c1"},
            "Storage": {
                "Layers": [
                    {"Id": schema.layer_id("C:\\layers\\app"), "Path": "C:\\layers\\app"},
                    {"Id": schema.layer_id("C:\\layers\\base"), "Path": "C:\\layers\\base"},
                ],
                "Path": "C:\\scratch\\c1",
            },
            "MappedDirectories": [
                {"HostPath": "C:\\data", "ContainerPath": "C:\\data", "ReadOnly": True},
                {"HostPath": "C:\\logs", "ContainerPath": "C:\\logs"},
            ],
            "Memory": {"SizeInMB": 512},
            "Processor": {"Count": 2},
            "Networking": {
                "DnsSearchList": "corp.example.com,example.com",
                "NetworkAdapters": ["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"],
            },
        },
        "ShouldTerminateOnLastHandleClosed": True,
    }
    assert schema.decode(schema.encode(doc), v2.ComputeSystem) == doc


def test_minimal_container_document() -> None:
    doc = schema.container_document()
    assert schema.encode(doc) == (
        b'{"Owner":"hcsaio","SchemaVersion":{"Major":2,"Minor":1},"Container":{},'
        b'"ShouldTerminateOnLastHandleClosed":true}'
    )


def test_network_namespace_and_schema_version() -> None:
    doc = schema.container_document(network_namespace="ns-1", schema_version=(2, 5))
    assert doc.schema_version == v2.Version(major=2, minor=5)
    assert doc.container is not None
    assert doc.container.networking == v2.Networking(namespace="ns-1")


def test_layer_ids_are_deterministic_uuid5_of_the_folder_name() -> None:
    a = schema.layer_id("C:\\ProgramData\\docker\\windowsfilter\\abc123")
    assert a == schema.layer_id("/var/lib/hcsaio/layers/abc123/")  # folder name only
    assert a == str(uuid.uuid5(schema.builders.LAYER_ID_NAMESPACE, "abc123"))
    assert uuid.UUID(a).version == 5
    assert a != schema.layer_id("C:\\layers\\abc124")
    with pytest.raises(ValueError, match="has no folder name"):
        schema.layer_id("\\")


def test_explicit_layers_and_mapped_directories_pass_through() -> None:
    layer = v2.Layer(id="11111111-2222-3333-4444-555555555555", path="C:\\l")
    mapped = v2.MappedDirectory(host_path="C:\\h", container_path="C:\\c", read_only=True)
    doc = schema.container_document(layers=[layer], mapped_directories=[mapped])
    assert doc.container is not None and doc.container.storage is not None
    assert doc.container.storage.layers == [layer]
    assert doc.container.mapped_directories == [mapped]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"memory_mb": 0}, ValueError),
        ({"memory_mb": -1}, ValueError),
        ({"memory_mb": 2**64}, ValueError),
        ({"memory_mb": 1.5}, TypeError),
        ({"cpu_count": True}, TypeError),
        ({"cpu_count": 2**32}, ValueError),
        ({"owner": 7}, TypeError),
        ({"mapped_directories": [("C:\\a",)]}, TypeError),
        ({"mapped_directories": [("C:\\a", "C:\\b", "yes")]}, TypeError),
        ({"schema_version": (2, -1)}, ValueError),
    ],
)
def test_container_document_rejects_bad_values(kwargs: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        schema.container_document(**kwargs)  # type: ignore[arg-type]


def test_process_parameters() -> None:
    params = schema.process_parameters(
        ["cmd.exe", "/c", "echo hello world"],
        env={"PATH": "C:\\Windows"},
        cwd="C:\\",
        user="ContainerUser",
        stdin=True,
        stdout=True,
        stderr=True,
    )
    assert json.loads(schema.encode(params, validate=True)) == {
        "CommandLine": 'cmd.exe /c "echo hello world"',
        "CommandArgs": ["cmd.exe", "/c", "echo hello world"],
        "User": "ContainerUser",
        "WorkingDirectory": "C:\\",
        "Environment": {"PATH": "C:\\Windows"},
        "CreateStdInPipe": True,
        "CreateStdOutPipe": True,
        "CreateStdErrPipe": True,
    }
    assert schema.split_windows_command_line(params.command_line) == params.command_args


def test_process_parameters_defaults_ask_for_nothing() -> None:
    assert schema.encode(schema.process_parameters(["/bin/true"])) == (
        b'{"CommandLine":"/bin/true","CommandArgs":["/bin/true"]}'
    )


@pytest.mark.parametrize(
    "size",
    [(24, 80), os.terminal_size((80, 24)), v2.ConsoleSize(height=24, width=80)],
    ids=["height-width", "terminal_size", "ConsoleSize"],
)
def test_console_size_is_height_then_width(size: object) -> None:
    params = schema.process_parameters(["sh"], tty=True, console_size=size)  # type: ignore[arg-type]
    assert params.emulate_console and params.console_size == [24, 80]


@pytest.mark.parametrize(
    ("argv", "kwargs", "error"),
    [
        ([], {}, ValueError),
        ("cmd.exe /c dir", {}, TypeError),
        (["sh", 1], {}, TypeError),
        (["sh"], {"tty": True, "stderr": True}, ValueError),
        (["sh"], {"console_size": (24, 80)}, ValueError),
        (["sh"], {"tty": True, "console_size": (0, 80)}, ValueError),
        (["sh"], {"tty": True, "console_size": (24, 70000)}, ValueError),
        (["sh"], {"env": {"A=B": "c"}}, ValueError),
        (["sh"], {"env": {"": "c"}}, ValueError),
        (["sh"], {"env": {"A": 1}}, TypeError),
        (['a"b'], {}, ValueError),
    ],
)
def test_process_parameters_rejects_bad_values(
    argv: object, kwargs: dict[str, object], error: type
) -> None:
    with pytest.raises(error):
        schema.process_parameters(argv, **kwargs)  # type: ignore[arg-type]
