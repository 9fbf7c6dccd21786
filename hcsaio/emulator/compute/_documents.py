"""From checked JSON documents to what the service and runtimes act on."""

from __future__ import annotations

from dataclasses import dataclass

from ..runtimes._runtime import ContainerSpec, MappedDirectory, ProcessSpec
from . import _schema as schema
from ._cmdline import command_line_to_argv
from ._hresults import (
    E_INVALIDARG,
    ERROR_NOT_SUPPORTED,
    HCS_E_HYPERV_NOT_INSTALLED,
    HCS_E_INVALID_JSON,
    HcsFailure,
)
from ._jsoncheck import (
    JsonObject,
    Spec,
    get_bool,
    get_int,
    get_list,
    get_obj,
    get_str,
    invalid,
    parse_object,
)

SUPPORTED_SCHEMA_VERSIONS = tuple((2, minor) for minor in range(7))  # 2.0 .. 2.6
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def parse_optional(text: str, spec: Spec, what: str) -> JsonObject:
    """An options/query document: NULL, L"" and "{}" all mean "no options"."""
    if text.strip() == "":
        return {}
    return parse_object(text, spec, what)


@dataclass(frozen=True)
class SystemDocument:
    owner: str
    spec: ContainerSpec
    terminate_on_last_handle_closed: bool


def parse_compute_system(text: str, system_id: str) -> SystemDocument:
    if text.strip() == "":
        raise HcsFailure(E_INVALIDARG, "The compute system configuration is empty.")
    doc = parse_object(text, schema.COMPUTE_SYSTEM, "compute system configuration")
    version = get_obj(doc, "SchemaVersion") or {}
    if (get_int(version, "Major"), get_int(version, "Minor")) not in SUPPORTED_SCHEMA_VERSIONS:
        raise invalid(
            "SchemaVersion",
            f"schema version {version.get('Major')}.{version.get('Minor')} is not supported "
            "(supported: 2.0 to 2.6)",
        )
    kinds = [k for k in ("Container", "VirtualMachine", "HostedSystem") if k in doc]
    if len(kinds) != 1:
        raise invalid("", "exactly one of Container, VirtualMachine or HostedSystem is required")
    if kinds[0] == "VirtualMachine" or get_str(doc, "HostingSystemId"):
        raise HcsFailure(
            HCS_E_HYPERV_NOT_INSTALLED,
            "Hyper-V is not installed on this host: virtual machines and Hyper-V isolated "
            "containers cannot be created.",
        )
    if kinds[0] == "HostedSystem":
        raise HcsFailure(ERROR_NOT_SUPPORTED, "HostedSystem documents need a utility VM.")
    container = get_obj(doc, "Container") or {}
    return SystemDocument(
        owner=get_str(doc, "Owner") or "",
        spec=_container_spec(container, system_id),
        terminate_on_last_handle_closed=get_bool(doc, "ShouldTerminateOnLastHandleClosed"),
    )


def _container_spec(container: JsonObject, system_id: str) -> ContainerSpec:
    storage = get_obj(container, "Storage") or {}
    layers = []
    for i, layer in enumerate(get_list(storage, "Layers")):
        path = get_str(layer, "Path")
        if not path:
            raise invalid(f"Container.Storage.Layers[{i}].Path", "a layer needs a Path")
        layers.append(path)
    mapped = []
    for i, entry in enumerate(get_list(container, "MappedDirectories")):
        host, inside = get_str(entry, "HostPath"), get_str(entry, "ContainerPath")
        if not host or not inside:
            raise invalid(
                f"Container.MappedDirectories[{i}]", "HostPath and ContainerPath are required"
            )
        mapped.append(MappedDirectory(host, inside, get_bool(entry, "ReadOnly")))
    memory = get_obj(container, "Memory") or {}
    processor = get_obj(container, "Processor") or {}
    return ContainerSpec(
        system_id=system_id,
        layers=tuple(layers),
        scratch=get_str(storage, "Path") or None,
        mapped_directories=tuple(mapped),
        hostname=get_str(get_obj(container, "GuestOs") or {}, "HostName") or None,
        memory_mb=get_int(memory, "SizeInMB"),
        processor_count=get_int(processor, "Count"),
        processor_maximum=get_int(processor, "Maximum"),
        processor_weight=get_int(processor, "Weight"),
    )


@dataclass(frozen=True)
class ProcessRequest:
    spec: ProcessSpec
    stdin: bool
    stdout: bool
    stderr: bool


def parse_process_parameters(text: str) -> ProcessRequest:
    if text.strip() == "":
        raise HcsFailure(E_INVALIDARG, "The process parameters are empty.")
    doc = parse_object(text, schema.PROCESS_PARAMETERS, "process parameters")
    args = get_list(doc, "CommandArgs")
    application = get_str(doc, "ApplicationName") or ""
    if args:
        argv = [str(a) for a in args]
    elif get_str(doc, "CommandLine"):
        try:
            argv = command_line_to_argv(get_str(doc, "CommandLine") or "")
        except ValueError as err:
            raise invalid("CommandLine", str(err)) from None
    elif application:
        argv = [application]
    else:
        raise HcsFailure(
            E_INVALIDARG, "The process parameters name no program (CommandLine or CommandArgs)."
        )
    if application:
        argv[0] = application
    console = [v for v in get_list(doc, "ConsoleSize") if isinstance(v, int)]
    if console and len(console) != 2:
        raise invalid("ConsoleSize", "expected [height, width]")
    env = {"PATH": DEFAULT_PATH}
    env.update({str(k): str(v) for k, v in (get_obj(doc, "Environment") or {}).items()})
    for key in env:
        if not key or "=" in key or "\0" in key or "\0" in env[key]:
            raise invalid(f"Environment.{key}", "not a valid environment variable")
    if any("\0" in a for a in argv):
        raise HcsFailure(HCS_E_INVALID_JSON, "An argument contains a NUL character.")
    tty = get_bool(doc, "EmulateConsole")
    return ProcessRequest(
        spec=ProcessSpec(
            argv=tuple(argv),
            env=env,
            cwd=get_str(doc, "WorkingDirectory") or None,
            user=get_str(doc, "User") or None,
            tty=tty,
            console_size=(console[0], console[1]) if console else None,
        ),
        stdin=get_bool(doc, "CreateStdInPipe"),
        stdout=get_bool(doc, "CreateStdOutPipe"),
        # With a console stderr is merged into it, as with Windows' ConPTY.
        stderr=get_bool(doc, "CreateStdErrPipe") and not tty,
    )
