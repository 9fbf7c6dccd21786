#!/usr/bin/env python3
"""Generate the ``hcsaio.schema`` struct modules from the shared hcsshim schema data.

usage: python tools/gen_schema.py [--schema-dir DIR] [--check]

Reads ``hcs-schema2.json`` + ``hcs-extra.json`` (HCS v2), ``hcs-schema1.json`` (HCS v1),
``hcn.json`` and ``hns.json`` from ``<repo>/../shared/schema`` (see ``extract.py`` there for
the record format) and writes msgspec ``Struct`` / enum modules into
``hcsaio/schema/_generated/``, with thin public facades beside the hand-written helpers:

  _generated/_v2_<area>.py   HCS v2 types, a few modules grouped by area (``V2_AREAS`` below)
  _generated/v1.py hcn.py hns.py
  v2.py v1.py hcn.py hns.py  the public namespaces, naming every public type

``--check`` regenerates in memory and exits 1 with a unified diff if any file differs
(the ``nox -s gen-check`` session). The output is deterministic and already in
``ruff format`` style, so it needs no formatter run.

How the generated code is decided
---------------------------------
* Names: classes keep the Go type names exactly; attributes are the Go field names in
  snake_case (``SNAKE_FIXES`` keeps acronyms such as IPv6 or QoS in one piece); the wire
  name is the record's ``json`` name. Each struct uses the rename rule (``pascal`` /
  none / ``camel``) that needs the fewest explicit ``msgspec.field(name=...)`` entries,
  computed with msgspec itself, so every irregular wire name is spelled out.
* Request vs response: a struct reachable from ``RESPONSE_ROOTS`` (or, for HCN/HNS, any
  struct not listed in ``REQUEST_ONLY``: HCN/HNS objects come back from queries) derives
  from ``ResponseStruct`` (unknown fields ignored), everything else from ``RequestStruct``
  (unknown fields rejected). String/int enums used by a response are "open" (unknown
  values decode); the others are closed. Enums named ``*Flags`` are ``enum.IntFlag``.
* Optionality: a field has a default when Go tags it ``omitempty`` or when its struct is
  a response (Go's decoder never requires a field, so a response must not either);
  otherwise it is required, because Go always sends it. Go kinds that can be nil
  (pointer, slice, map, struct value, time, GUID) default to ``None``; scalars default to
  their zero value, which ``omit_defaults`` leaves off the wire exactly like ``omitempty``.
  A response struct none of whose fields is ``omitempty`` is encoded with every field
  (``omit_defaults=False``), as Go sends it; see ``sends_every_field``.
* Types: ints carry their Go range (``UInt32`` ...; msgspec's ``Meta`` cannot bound a
  uint64 from above, so structs with uint64 fields get a generated ``__post_init__`` that
  does); ``time.Time`` -> ``datetime`` (RFC 3339 as Go and HCS write it; HCS's 100 ns
  fraction is rounded to microseconds); ``guid.GUID`` -> ``uuid.UUID``; ``net.IP`` ->
  ``str``; ``[]byte`` -> ``bytes`` (base64, as Go encodes it); ``interface{}`` /
  ``json.RawMessage`` -> ``Any`` (decoded to plain JSON values; pass a struct to send one,
  use ``hcsaio.schema.convert`` to read one). Go struct embedding (HNS policies) becomes
  inheritance. ``TYPE_CORRECTIONS`` widens the few integer fields whose hcsshim
  (Swagger-generated) Go type is narrower than what the public HCS schema reference
  documents and HCS sends.
* Omitted: the Swagger client leftovers listed in ``OMITTED``. Added: the three
  ``guestrequest`` enums schema2 fields refer to (``EXTERNAL_ENUMS``).
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import keyword
import re
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SCHEMA_DIR = REPO.parent / "shared" / "schema"
PACKAGE_DIR = REPO / "hcsaio" / "schema"
GENERATED_DIR = PACKAGE_DIR / "_generated"
LINE_LENGTH = 100

# --------------------------------------------------------------------------- configuration

#: Python module group -> the shared data files it is generated from.
SOURCES: dict[str, tuple[str, ...]] = {
    "v2": ("hcs-schema2.json", "hcs-extra.json"),
    "v1": ("hcs-schema1.json",),
    "hcn": ("hcn.json",),
    "hns": ("hns.json",),
}

#: Records deliberately not generated, with the reason (repeated in the closing report and
#: checked by tests/schema/test_conformance.py).
OMITTED: dict[tuple[str, str], str] = {
    ("v2", "APIKey"): "Swagger client leftover (api_key.go), not an HCS document",
    ("v2", "BasicAuth"): "Swagger client leftover (basic_auth.go), not an HCS document",
    ("v2", "Configuration"): "Swagger client leftover (configuration.go): holds an *http.Client",
    ("v2", "contextKey"): "Swagger client leftover (configuration.go): Go context keys",
}

#: Named types that schema2 fields use but that live in other hcsshim packages. The values
#: are from hcsshim internal/protocol/guestrequest/types.go.
EXTERNAL_ENUMS: tuple[dict[str, object], ...] = (
    {
        "name": "RequestType",
        "kind": "string-enum",
        "doc": "RequestType of a ModifySettingRequest (hcsshim guestrequest.RequestType).",
        "file": "internal/protocol/guestrequest/types.go",
        "values": [
            {"go": "ADD", "value": "Add", "doc": ""},
            {"go": "REMOVE", "value": "Remove", "doc": ""},
            {"go": "PRE_ADD", "value": "PreAdd", "doc": "Used for networking."},
            {"go": "UPDATE", "value": "Update", "doc": ""},
        ],
    },
    {
        "name": "ProcessModifyOperation",
        "kind": "string-enum",
        "doc": "Operation of a ProcessModifyRequest (hcsshim guestrequest.ProcessModifyOperation).",
        "file": "internal/protocol/guestrequest/types.go",
        "values": [
            {"go": "CONSOLE_SIZE", "value": "ConsoleSize", "doc": ""},
            {"go": "CLOSE_HANDLE", "value": "CloseHandle", "doc": ""},
        ],
    },
    {
        "name": "STDIOHandle",
        "kind": "string-enum",
        "doc": "Standard IO handle(s) to close with CloseHandle (hcsshim guestrequest.STDIOHandle).",
        "file": "internal/protocol/guestrequest/types.go",
        "values": [
            {"go": "STD_IN", "value": "StdIn", "doc": ""},
            {"go": "STD_OUT", "value": "StdOut", "doc": ""},
            {"go": "STD_ERR", "value": "StdErr", "doc": ""},
            {"go": "ALL", "value": "All", "doc": ""},
        ],
    },
)

#: Qualified Go type -> (module group, type name) it resolves to.
EXTERNAL_TYPES: dict[str, tuple[str, str]] = {
    "guestrequest.RequestType": ("v2", "RequestType"),
    "guestrequest.ProcessModifyOperation": ("v2", "ProcessModifyOperation"),
    "guestrequest.STDIOHandle": ("v2", "STDIOHandle"),
    "hcsschema.Version": ("v2", "Version"),
}

#: Go types carried as arbitrary JSON (``Any``). v1.Metrics is containerd's cgroup stats
#: struct (LCOW only); hcsaio does not model it.
ANY_TYPES = frozenset({"interface{}", "json.RawMessage", "v1.Metrics"})

#: (group, struct, Go field) -> Go type to use instead of hcsshim's. Only where the public
#: HCS schema reference (MicrosoftDocs/Virtualization-Documentation,
#: virtualization/api/hcs/SchemaReference.md) documents a range that hcsshim's
#: Swagger-generated type cannot hold (a process with 3 GB committed memory would not
#: decode as int32).
TYPE_CORRECTIONS: dict[tuple[str, str, str], str] = {
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

#: HCS v2 area modules: module stem -> (docstring, Go source files). Every v2 record must
#: land in exactly one area; the areas must import each other without cycles.
V2_AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "base": (
        "shared building blocks: schema version, registry changes, HvSocket settings",
        (
            "version.go",
            "registry_changes.go",
            "registry_hive.go",
            "registry_key.go",
            "registry_value.go",
            "registry_value_type.go",
            "hv_socket_address.go",
            "hv_socket_service_config.go",
            "hv_socket_system_config.go",
        ),
    ),
    "storage": (
        "storage: layers, scratch, storage QoS, mapped directories and pipes, CIM mounts",
        (
            "layer.go",
            "storage.go",
            "storage_qo_s.go",
            "mapped_directory.go",
            "mapped_pipe.go",
            "cimfs.go",
        ),
    ),
    "container": (
        "containers: the Container document and its parts, credential guard, device namespaces",
        (
            "container.go",
            "guest_os.go",
            "memory.go",
            "processor.go",
            "networking.go",
            "hv_socket.go",
            "device.go",
            "silo_properties.go",
            "container_credential_guard_add_instance_request.go",
            "container_credential_guard_hv_socket_service_config.go",
            "container_credential_guard_instance.go",
            "container_credential_guard_modify_operation.go",
            "container_credential_guard_operation_request.go",
            "container_credential_guard_remove_instance_request.go",
            "container_credential_guard_state.go",
            "container_credential_guard_system_info.go",
            "model_container_definition_device.go",
            "model_device_category.go",
            "model_device_extension.go",
            "model_device_instance.go",
            "model_device_namespace.go",
            "model_interface_class.go",
            "model_namespace.go",
            "model_object_directory.go",
            "model_object_namespace.go",
            "model_object_symlink.go",
        ),
    ),
    "devices": (
        "virtual machine devices: SCSI, vPMem, network adapters, video, SMB and Plan9 shares, ...",
        (
            "devices.go",
            "attachment.go",
            "battery.go",
            "com_port.go",
            "enhanced_mode_video.go",
            "flexible_io_device.go",
            "guest_crash_reporting.go",
            "windows_crash_reporting.go",
            "hv_socket_2.go",
            "interrupt_moderation_mode.go",
            "iov_settings.go",
            "keyboard.go",
            "mouse.go",
            "network_adapter.go",
            "plan9.go",
            "plan9_share.go",
            "plan9_share_flags.go",
            "rdp_connection_options.go",
            "scsi.go",
            "shared_memory_configuration.go",
            "shared_memory_region.go",
            "video_monitor.go",
            "virtual_p_mem_controller.go",
            "virtual_p_mem_device.go",
            "virtual_p_mem_mapping.go",
            "virtual_pci_device.go",
            "virtual_pci_function.go",
            "virtual_smb.go",
            "virtual_smb_share.go",
            "virtual_smb_share_options.go",
        ),
    ),
    "migration": (
        "live migration: migration options, start options and migration notifications",
        ("migration.go",),
    ),
    "vm": (
        "virtual machines: chipset, firmware, topology, NUMA, guest state, security, debugging",
        (
            "virtual_machine.go",
            "chipset.go",
            "uefi.go",
            "uefi_boot_entry.go",
            "linux_kernel_direct.go",
            "firmware.go",
            "topology.go",
            "virtual_machine_memory.go",
            "memory_backing_type.go",
            "virtual_slit_type.go",
            "virtual_machine_processor.go",
            "vm_processor_limits.go",
            "cpu_group.go",
            "numa.go",
            "numa_node.go",
            "numa_node_memory.go",
            "numa_node_processor.go",
            "numa_processors.go",
            "numa_setting.go",
            "guest_state.go",
            "restore_state.go",
            "debug_options.go",
            "security_settings.go",
            "isolation_settings.go",
            "guest_connection.go",
            "time_zone_information.go",
            "system_time.go",
        ),
    ),
    "process": (
        "processes: process parameters, process status, console size and handle requests",
        (
            "process_parameters.go",
            "process_status.go",
            "process_modify_request.go",
            "console_size.go",
            "close_handle.go",
        ),
    ),
    "properties": (
        "properties and statistics: system, process and service property queries and responses",
        (
            "properties.go",
            "property_query.go",
            "property_type.go",
            "statistics.go",
            "processor_stats.go",
            "memory_stats.go",
            "storage_stats.go",
            "process_details.go",
            "memory_information_for_vm.go",
            "vm_memory.go",
            "virtual_node_info.go",
            "shared_memory_region_info.go",
            "guest_connection_info.go",
            "service_properties.go",
            "processor_topology.go",
            "logical_processor.go",
            "cache_query_stats_response.go",
            "container_memory_information.go",
            "cpu_group_affinity.go",
            "cpu_group_config.go",
            "cpu_group_configurations.go",
            "cpu_group_property.go",
        ),
    ),
    "modify": (
        "modify requests: system and service modification requests, CPU group operations",
        (
            "modify_setting_request.go",
            "modification_request.go",
            "host_processor_modify_request.go",
            "cpu_group_operations.go",
            "create_group_operation.go",
            "delete_group_operation.go",
        ),
    ),
    "system": (
        "compute systems: the create document, save/pause options, errors and exit status",
        (
            "compute_system.go",
            "hosted_system.go",
            "save_options.go",
            "pause_options.go",
            "pause_notification.go",
            "errors.go",
            "system.go",
            "public HCS schema reference",
        ),
    ),
}

#: v2 records placed by name rather than by source file.
V2_AREA_BY_NAME: dict[str, str] = {
    "RequestType": "modify",
    "ProcessModifyOperation": "process",
    "STDIOHandle": "process",
}

#: Struct types HCS returns (results, events, property responses); everything reachable
#: from them is a response type as well.
RESPONSE_ROOTS: dict[str, frozenset[str]] = {
    "v2": frozenset(
        {
            "Properties",
            "ProcessStatus",
            "ServiceProperties",
            "ResultError",
            "ErrorEvent",
            "EventData",
            "SystemExitStatus",
            "ProcessorTopology",
            "CpuGroupConfigurations",
            "ContainerCredentialGuardSystemInfo",
            "CacheQueryStatsResponse",
            "ContainerMemoryInformation",
            "OperationSystemMigrationNotificationInfo",
            "BlackoutExitedEventDetails",
            "SiloProperties",
            "NumaNodeMemory",
            "NumaNodeProcessor",
        }
    ),
    "v1": frozenset({"ContainerProperties"}),
}

#: HCN/HNS structs that are only ever sent; every other HCN/HNS struct is a response root.
REQUEST_ONLY: dict[str, frozenset[str]] = {
    "hcn": frozenset(
        {
            "HostComputeQuery",
            "ModifyEndpointSettingRequest",
            "ModifyNamespaceSettingRequest",
            "ModifyNetworkSettingRequest",
            "PolicyEndpointRequest",
            "PolicyNetworkRequest",
            "VmEndpointRequest",
        }
    ),
    "hns": frozenset(
        {
            "EndpointAttachDetachRequest",
            "namespaceRequest",
            "namespaceEndpointRequest",
            "namespaceResourceRequest",
        }
    ),
}

#: Values of constants hcn.json could not evaluate (they name golang.org/x/sys/windows
#: constants); from winerror.h (see docs/hcs-rules.md, "HRESULT families").
RESOLVED_CONSTANTS: dict[str, int] = {
    "ErrorCode(windows.ERROR_NOT_FOUND)": 0x490,
    "ErrorCode(windows.HCN_E_PORT_ALREADY_EXISTS)": 0x803B0013,
    "ErrorCode(windows.E_NOTIMPL)": 0x80004001,
}

#: Enum const-name prefixes to drop that are not the type name itself.
ENUM_PREFIXES: dict[tuple[str, str], str] = {("v2", "PropertyType"): "PT"}

#: Go identifiers whose acronyms a generic CamelCase split would cut apart.
SNAKE_FIXES: tuple[tuple[str, str], ...] = (
    ("IPv4", "Ipv4"),
    ("IPv6", "Ipv6"),
    ("ICMPv4", "Icmpv4"),
    ("ICMPv6", "Icmpv6"),
    ("DWord", "Dword"),
    ("QWord", "Qword"),
    ("PMem", "Pmem"),
    ("QoS", "Qos"),
    ("MHz", "Mhz"),
    ("VIPs", "Vips"),
    ("IDs", "Ids"),
    ("VNet", "Vnet"),
)

GROUP_LABELS = {"v2": "HCS schema v2", "v1": "HCS schema v1", "hcn": "HCN", "hns": "HNS"}

INT_ALIASES = {
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "int64": "Int64",
    "int": "Int64",
    "uint8": "UInt8",
    "byte": "UInt8",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
    "uint": "UInt64",
}
SCALARS = {"string": ("str", '""'), "bool": ("bool", "False"), "float64": ("float", "0.0")}
SCALARS["float32"] = SCALARS["float64"]

# --------------------------------------------------------------------------- Go types


@dataclass(frozen=True)
class GoType:
    """A parsed Go type expression: ``*T``, ``[]T``, ``[N]T``, ``map[K]V`` or a name."""

    kind: str  # "name" | "pointer" | "slice" | "array" | "map"
    name: str = ""
    elem: GoType | None = None
    key: GoType | None = None
    length: int = 0


def parse_go_type(text: str) -> GoType:
    text = text.strip()
    if text.startswith("*"):
        return GoType("pointer", elem=parse_go_type(text[1:]))
    if text.startswith("[]"):
        return GoType("slice", elem=parse_go_type(text[2:]))
    array = re.fullmatch(r"\[(\d+)\](.+)", text)
    if array:
        return GoType("array", elem=parse_go_type(array[2]), length=int(array[1]))
    if text.startswith("map["):
        depth, index = 0, len("map")
        for index in range(len("map"), len(text)):
            depth += {"[": 1, "]": -1}.get(text[index], 0)
            if depth == 0:
                break
        return GoType(
            "map", key=parse_go_type(text[4:index]), elem=parse_go_type(text[index + 1 :])
        )
    return GoType("name", name=text)


def sends_every_field(d: Definition) -> bool:
    """A response struct whose Go fields are all sent even when zero (no omitempty).

    Its fields still have defaults (a response must decode without them), so it is encoded
    with ``omit_defaults=False`` to put every field on the wire as Go does
    (``{"Major": 2, "Minor": 0}``, not ``{"Major": 2}``). Request structs need no such
    option: their non-omitempty fields are required and therefore always encoded.
    """
    fields = d.all_fields()
    return d.response and bool(fields) and not any(f.omitempty for f in fields)


def is_uint64(t: GoType) -> bool:
    return t.kind == "name" and t.name in ("uint64", "uint")


def nested_types(t: GoType) -> Iterator[GoType]:
    for sub in (t.elem, t.key):
        if sub is not None:
            yield sub
            yield from nested_types(sub)


# --------------------------------------------------------------------------- names


def snake(name: str) -> str:
    """Go identifier -> snake_case attribute name (``SizeInMB`` -> ``size_in_mb``)."""
    name = name.rstrip("_")
    for acronym, word in SNAKE_FIXES:
        name = name.replace(acronym, word)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name)
    name = re.sub(r"_+", "_", name).lower()
    return name + "_" if keyword.iskeyword(name) else name


def camel_words(name: str) -> list[str]:
    return snake(name).split("_")


Rename = Literal["pascal", "camel"] | None


@functools.cache
def encode_names(attrs: tuple[str, ...], rename: Rename) -> tuple[str, ...]:
    """The wire names msgspec derives for ``attrs`` under ``rename`` (asks msgspec itself)."""
    probe = msgspec.defstruct("Probe", [(a, int, 0) for a in attrs], rename=rename)
    return probe.__struct_encode_fields__


# --------------------------------------------------------------------------- model


@dataclass
class Field:
    go: str
    wire: str
    attr: str
    omitempty: bool
    gotype: GoType
    doc: str
    corrected_from: str | None = None


@dataclass
class Definition:
    group: str  # v2 | v1 | hcn | hns
    name: str
    kind: str  # struct | string-enum | int-enum | alias
    record: dict[str, object]
    module: str = ""  # python module stem that defines it
    fields: list[Field] = field(default_factory=list)
    base: Definition | None = None  # embedded struct (Go struct embedding = inheritance)
    response: bool = False
    open: bool = False  # enums: accept unknown values

    @property
    def doc(self) -> str:
        return str(self.record.get("doc") or "")

    @property
    def file(self) -> str:
        return str(self.record.get("file") or "")

    @property
    def public(self) -> bool:
        return self.name[:1].isupper()

    def all_fields(self) -> list[Field]:
        return (self.base.all_fields() if self.base else []) + self.fields


class Schema:
    """All definitions of all groups, with cross references resolved."""

    def __init__(self, schema_dir: Path) -> None:
        self.schema_dir = schema_dir
        self.defs: dict[tuple[str, str], Definition] = {}
        self.load()
        self.assign_modules()
        self.resolve_fields()
        self.mark_responses()
        self.mark_open_enums()

    # -- loading

    def load(self) -> None:
        for group, files in SOURCES.items():
            records: list[dict[str, object]] = []
            for name in files:
                records += json.loads((self.schema_dir / name).read_text(encoding="utf-8"))
            if group == "v2":
                records += [dict(r) for r in EXTERNAL_ENUMS]
            for record in records:
                key = (group, str(record["name"]))
                if key in OMITTED:
                    continue
                if key in self.defs:
                    raise SystemExit(f"duplicate type {key}")
                self.defs[key] = Definition(group, key[1], str(record["kind"]), record)
        missing = [key for key in OMITTED if not self.has_record(key)]
        if missing:
            raise SystemExit(f"OMITTED names types the data does not have: {missing}")

    def has_record(self, key: tuple[str, str]) -> bool:
        group, name = key
        return any(
            r["name"] == name
            for f in SOURCES[group]
            for r in json.loads((self.schema_dir / f).read_text(encoding="utf-8"))
        )

    def assign_modules(self) -> None:
        by_file = {f: area for area, (_, files) in V2_AREAS.items() for f in files}
        for d in self.defs.values():
            if d.group != "v2":
                d.module = d.group
                continue
            area = V2_AREA_BY_NAME.get(d.name) or by_file.get(d.file.rsplit("/", 1)[-1])
            if area is None:
                raise SystemExit(f"v2 type {d.name} ({d.file}) has no area in V2_AREAS")
            d.module = f"_v2_{area}"

    def resolve_fields(self) -> None:
        for d in self.defs.values():
            if d.kind != "struct":
                continue
            for raw in d.record.get("fields", []):  # type: ignore[attr-defined]
                if "embedded" in raw:
                    if d.base is not None:
                        raise SystemExit(f"{d.name}: more than one embedded struct")
                    d.base = self.defs[(d.group, raw["embedded"])]
                    continue
                gotype, corrected_from = raw["type"], None
                correction = TYPE_CORRECTIONS.get((d.group, d.name, raw["go"]))
                if correction is not None:
                    gotype, corrected_from = correction, raw["type"]
                d.fields.append(
                    Field(
                        go=raw["go"],
                        wire=raw["json"],
                        attr=snake(raw["go"]),
                        omitempty=raw["omitempty"],
                        gotype=parse_go_type(gotype),
                        doc=raw.get("doc", ""),
                        corrected_from=corrected_from,
                    )
                )
        unused = {k for k in TYPE_CORRECTIONS if not self.field_exists(*k)}
        if unused:
            raise SystemExit(f"TYPE_CORRECTIONS names fields the data does not have: {unused}")
        for d in self.defs.values():
            attrs = [f.attr for f in d.all_fields()]
            if len(set(attrs)) != len(attrs):
                raise SystemExit(f"{d.name}: two Go fields map to one attribute: {attrs}")

    def field_exists(self, group: str, struct: str, go: str) -> bool:
        d = self.defs.get((group, struct))
        return d is not None and any(f.go == go for f in d.fields)

    # -- references

    def lookup(self, group: str, gotype: GoType) -> Definition | None:
        """The definition a named Go type refers to, or None for builtins."""
        name = gotype.name
        if name in EXTERNAL_TYPES:
            return self.defs[EXTERNAL_TYPES[name]]
        return self.defs.get((group, name))

    def references(self, d: Definition) -> Iterator[Definition]:
        """Definitions that ``d`` uses directly (field types, base, alias target)."""
        if d.base is not None:
            yield d.base
        types = [f.gotype for f in d.fields]
        if d.kind == "alias":
            types.append(parse_go_type(str(d.record["underlying"])))
        for t in types:
            yield from self.named_in(d.group, t)

    def named_in(self, group: str, t: GoType) -> Iterator[Definition]:
        if t.kind == "name":
            target = self.lookup(group, t)
            if target is not None:
                yield target
        for sub in (t.elem, t.key):
            if sub is not None:
                yield from self.named_in(group, sub)

    def mark_responses(self) -> None:
        roots: list[Definition] = []
        for d in self.defs.values():
            if d.kind != "struct":
                continue
            if d.group in REQUEST_ONLY:
                if d.name not in REQUEST_ONLY[d.group]:
                    roots.append(d)
            elif d.name in RESPONSE_ROOTS.get(d.group, frozenset()):
                roots.append(d)
        for group, names in {**RESPONSE_ROOTS, **REQUEST_ONLY}.items():
            unknown = {n for n in names if (group, n) not in self.defs}
            if unknown:
                raise SystemExit(f"response/request tables name unknown types: {unknown}")
        stack = roots
        while stack:
            d = stack.pop()
            if d.response:
                continue
            d.response = True
            stack.extend(self.references(d))
        for group, names in REQUEST_ONLY.items():
            leaked = {n for n in names if self.defs[(group, n)].response}
            if leaked:
                raise SystemExit(f"request-only types reachable from a response: {leaked}")

    def mark_open_enums(self) -> None:
        for d in self.defs.values():
            if d.kind == "struct" and d.response:
                for ref in self.references(d):
                    if ref.kind in ("string-enum", "int-enum"):
                        ref.open = True


# --------------------------------------------------------------------------- rendering


def clean_doc(text: str) -> str:
    text = text.replace("\u2026", "...").replace("\u2019", "'").replace("\\", "\\\\")
    return " ".join(text.replace('"""', "'''").split())


def docstring(text: str, indent: str) -> list[str]:
    """A docstring in the layout ``ruff format`` keeps."""
    text = text.strip()
    if text.endswith('"'):
        text += "."
    one_line = f'{indent}"""{text}"""'
    if "\n" not in text and len(one_line) <= LINE_LENGTH:
        return [one_line]
    lines: list[str] = []
    for n, paragraph in enumerate(text.split("\n\n")):
        if n:
            lines.append("")
        lines += textwrap.wrap(paragraph, LINE_LENGTH - len(indent) - 3) or [""]
    if len(lines) == 1:  # ruff keeps a one-line docstring on one line, however long
        return [f'{indent}"""{lines[0]}"""']
    lines[0] = '"""' + lines[0]
    return [indent + line if line else "" for line in lines] + [indent + '"""']


def provenance(d: Definition) -> str:
    if d.file.endswith(".go"):
        return f"Go: ``{d.name}`` in ``{d.file}``."
    return f"Source: {d.file}."


def comment(text: str, indent: str) -> list[str]:
    width = LINE_LENGTH - len(indent) - len("#: ")
    return [f"{indent}#: {line}" for line in textwrap.wrap(text, width)]


class Renderer:
    """Renders one Python module from the definitions assigned to it."""

    def __init__(self, schema: Schema, module: str, title: str) -> None:
        self.schema = schema
        self.module = module
        self.title = title
        self.defs = [d for d in schema.defs.values() if d.module == module]
        self.emitted: set[str] = set()
        self.typing: set[str] = set()
        self.stdlib: set[str] = set()
        self.base_names: set[str] = set()
        self.uses_msgspec = False
        self.imports: dict[str, set[str]] = {}  # module -> names

    # -- type expressions

    def ref(self, target: Definition) -> tuple[str, bool]:
        """Name to use for ``target`` and whether it is a forward reference."""
        if target.module != self.module:
            self.imports.setdefault(target.module, set()).add(target.name)
            return target.name, False
        return target.name, target.name not in self.emitted

    def annotation(self, group: str, t: GoType) -> tuple[str, bool]:
        """Python annotation for a Go type (without ``| None``) and whether it has a forward
        reference (then the caller quotes the whole annotation)."""
        if t.kind == "pointer":
            assert t.elem is not None
            return self.annotation(group, t.elem)
        if t.kind == "slice":
            assert t.elem is not None
            if t.elem.kind == "name" and t.elem.name in ("byte", "uint8"):
                return "bytes", False
            inner, forward = self.annotation(group, t.elem)
            return f"list[{inner}]", forward
        if t.kind == "array":
            assert t.elem is not None
            inner, forward = self.annotation(group, t.elem)
            return f"tuple[{', '.join([inner] * t.length)}]", forward
        if t.kind == "map":
            assert t.key is not None
            assert t.elem is not None
            key, fwd_key = self.annotation(group, t.key)
            value, fwd_value = self.annotation(group, t.elem)
            return f"dict[{key}, {value}]", fwd_key or fwd_value
        name = t.name
        if name in ANY_TYPES:
            self.typing.add("Any")
            return "Any", False
        if name in INT_ALIASES:
            self.base_names.add(INT_ALIASES[name])
            return INT_ALIASES[name], False
        if name in SCALARS:
            return SCALARS[name][0], False
        if name == "time.Time":
            self.stdlib.add("datetime")
            return "datetime.datetime", False
        if name == "guid.GUID":
            self.stdlib.add("uuid")
            return "uuid.UUID", False
        if name == "net.IP":
            return "str", False
        target = self.schema.lookup(group, t)
        if target is None:
            raise SystemExit(f"unknown Go type {name!r} in group {group}")
        return self.ref(target)

    def is_any(self, group: str, t: GoType) -> bool:
        while t.kind == "pointer" and t.elem is not None:
            t = t.elem
        return t.kind == "name" and t.name in ANY_TYPES

    def scalar_default(self, group: str, t: GoType) -> str | None:
        """The zero value of a non-nilable Go scalar, or None if Go can leave it nil/empty."""
        if t.kind != "name":
            return None
        if t.name in INT_ALIASES:
            return "0"
        if t.name in SCALARS:
            return SCALARS[t.name][1]
        target = self.schema.lookup(group, t)
        if target is not None and target.kind == "alias":
            return self.scalar_default(group, parse_go_type(str(target.record["underlying"])))
        return None

    # -- definitions

    def render_field(self, d: Definition, f: Field, explicit_name: bool) -> list[str]:
        lines: list[str] = []
        doc = clean_doc(f.doc)
        if f.corrected_from:
            doc = (doc + " " if doc else "") + (
                f"hcsshim declares {f.corrected_from}; widened to the range the public HCS "
                "schema reference documents."
            )
        lines += comment(doc, "    ") if doc else []
        annotation, forward = self.annotation(d.group, f.gotype)
        optional = f.omitempty or d.response
        default: str | None = None
        if self.is_any(d.group, f.gotype):
            default = "None" if optional else None
        elif optional:
            default = self.scalar_default(d.group, f.gotype)
            if default is None:
                annotation += " | None"
                default = "None"
        if forward:
            annotation = f'"{annotation}"'
        if explicit_name:
            self.uses_msgspec = True
            args = ", ".join([f"default={default}"] * (default is not None) + [f'name="{f.wire}"'])
            line = f"    {f.attr}: {annotation} = msgspec.field({args})"
            if len(line) > LINE_LENGTH:  # ruff's layout for a call that does not fit
                line = f"    {f.attr}: {annotation} = msgspec.field(\n        {args}\n    )"
        else:
            line = f"    {f.attr}: {annotation}" + (f" = {default}" if default is not None else "")
        return [*lines, line]

    def rename_rule(self, d: Definition) -> Rename:
        """The rename rule that leaves the fewest wire names to spell out."""
        own = tuple(f.attr for f in d.fields)
        wires = tuple(f.wire for f in d.fields)
        if d.base is not None or not own:
            return "pascal"

        def misses(rule: Rename) -> int:
            return sum(a != b for a, b in zip(encode_names(own, rule), wires, strict=True))

        rules: tuple[Rename, ...] = ("pascal", None, "camel")
        return min(rules, key=misses)

    def render_struct(self, d: Definition) -> list[str]:
        rule = self.rename_rule(d)
        # kw_only is the one struct option msgspec does not inherit, so every class says it.
        if d.base is not None:
            bases = self.ref(d.base)[0] + ", kw_only=True"
            if sends_every_field(d) != sends_every_field(d.base):
                bases += f", omit_defaults={not sends_every_field(d)}"
        else:
            bases = "ResponseStruct" if d.response else "RequestStruct"
            self.base_names.add(bases)
            bases += ", kw_only=True"
            if rule != "pascal":
                bases += f", rename={rule!r}" if rule else ", rename=None"
            if sends_every_field(d):
                bases += ", omit_defaults=False"
        derived = encode_names(tuple(f.attr for f in d.fields), rule)
        doc = clean_doc(d.doc) or f"{GROUP_LABELS[d.group]} document ``{d.name}``."
        body = docstring(f"{doc}\n\n{provenance(d)}", "    ")
        for n, (f, wire) in enumerate(zip(d.fields, derived, strict=True)):
            body += [""] if n == 0 else []
            body += self.render_field(d, f, explicit_name=wire != f.wire)
        body += self.render_uint64_check(d)
        return [f"class {d.name}({bases}):", *body]

    def render_uint64_check(self, d: Definition) -> list[str]:
        """``__post_init__`` enforcing the uint64 upper bound msgspec's Meta cannot express."""
        conditions: list[str] = []
        for f in d.all_fields():
            t = f.gotype
            if is_uint64(t):
                conditions.append(f"self.{f.attr} > UINT64_MAX")
            elif t.kind == "pointer" and t.elem is not None and is_uint64(t.elem):
                conditions.append(f"(self.{f.attr} or 0) > UINT64_MAX")
            elif t.kind in ("slice", "array") and t.elem is not None and is_uint64(t.elem):
                conditions.append(f"any(v > UINT64_MAX for v in self.{f.attr} or ())")
            elif any(is_uint64(sub) for sub in nested_types(t)):
                raise SystemExit(f"{d.name}.{f.go}: uint64 inside {t} is not supported")
        if not conditions:
            return []
        self.base_names.update({"UINT64_MAX", "uint64_error"})
        # try/except costs nothing on the success path; a TypeError can only come from a
        # wrongly typed constructor argument (decoding checks types before this runs).
        lines = ["", "    def __post_init__(self) -> None:", "        try:"]
        one_line = f"            if {' or '.join(conditions)}:"
        if len(one_line) <= LINE_LENGTH:
            lines.append(one_line)
        else:
            lines.append("            if (")
            lines += [f"                {'or ' if i else ''}{c}" for i, c in enumerate(conditions)]
            lines.append("            ):")
        return [
            *lines,
            "                raise uint64_error(self)",
            "        except TypeError:",
            "            raise uint64_error(self) from None",
        ]

    def member_names(self, d: Definition) -> list[str]:
        values = d.record["values"]
        assert isinstance(values, list)
        consts = [str(v["go"]) for v in values]
        if d.record.get("file") == "internal/protocol/guestrequest/types.go":
            return consts
        prefix = ENUM_PREFIXES.get((d.group, d.name), d.name)
        stems = [c[len(prefix) :].lstrip("_") if c.startswith(prefix) else c for c in consts]
        if any(not s for s in stems):
            stems = consts
        words = [camel_words(s) for s in stems]
        type_words = set(camel_words(d.name))
        # a suffix every member shares and the type name repeats (ContainerType -> CONTAINER)
        shared = len(words) > 1 and all(w[-1] == words[0][-1] and len(w) > 1 for w in words)
        if shared and words[0][-1] in type_words:
            words = [w[:-1] for w in words]
        names = ["_".join(w).upper() for w in words]
        names = [n if n.isidentifier() else f"V_{n}" for n in names]
        if len(set(names)) != len(names):
            raise SystemExit(f"enum {d.name}: member names collide: {names}")
        return names

    def render_enum(self, d: Definition) -> list[str]:
        values = d.record["values"]
        assert isinstance(values, list)
        if d.kind == "string-enum":
            base = "OpenStrEnum" if d.open else "enum.StrEnum"
        elif d.name.endswith("Flags"):
            base = "enum.IntFlag"
        else:
            base = "OpenIntEnum" if d.open else "enum.IntEnum"
        if base.startswith("enum."):
            self.stdlib.add("enum")
        else:
            self.base_names.add(base)
        doc = clean_doc(d.doc) or f"{GROUP_LABELS[d.group]} enumeration ``{d.name}``."
        lines = [f"class {d.name}({base}):"]
        lines += docstring(f"{doc}\n\n{provenance(d)}", "    ")
        lines.append("")
        for member, value in zip(self.member_names(d), values, strict=True):
            literal = value["value"]
            if literal is None:
                literal = RESOLVED_CONSTANTS[value["expr"]]
            vdoc = clean_doc(str(value.get("doc") or ""))
            lines += comment(vdoc, "    ") if vdoc else []
            rendered = f"0x{literal:08X}" if isinstance(literal, int) and literal > 0xFFFF else None
            lines.append(f"    {member} = {rendered or json.dumps(literal)}")
        return lines

    def render_alias(self, d: Definition) -> list[str]:
        self.typing.add("TypeAlias")
        target, forward = self.annotation(d.group, parse_go_type(str(d.record["underlying"])))
        assert not forward
        doc = clean_doc(d.doc)
        lines = comment(doc, "") if doc else []
        if d.record.get("is_alias"):
            return [*lines, f"{d.name} = {target}"]
        return [*lines, f"{d.name}: TypeAlias = {target}"]

    def ordered(self) -> list[Definition]:
        """Enums first, then aliases and structs with what they use defined before them
        where possible (source order otherwise; cycles become quoted forward references)."""
        enums = [d for d in self.defs if d.kind in ("string-enum", "int-enum")]
        rest = [d for d in self.defs if d not in enums]
        done: list[Definition] = []
        visiting: set[str] = set()

        def visit(d: Definition) -> None:
            if d in done or d.name in visiting:
                return
            visiting.add(d.name)
            for ref in self.schema.references(d):
                if ref.module == self.module and ref is not d:
                    visit(ref)
            visiting.discard(d.name)
            done.append(d)

        for d in rest:
            visit(d)
        return enums + [d for d in done if d not in enums]

    def render(self) -> str:
        blocks: list[list[str]] = []
        for d in self.ordered():
            if d.kind == "struct":
                blocks.append(self.render_struct(d))
            elif d.kind == "alias":
                blocks.append(self.render_alias(d))
            else:
                blocks.append(self.render_enum(d))
            self.emitted.add(d.name)
        names = sorted_all(d.name for d in self.defs if d.public)
        head = header(self.schema, self.module, self.title)
        head += self.import_lines()
        head += ["", *all_lines(names)]
        body = "\n\n\n".join("\n".join(b) for b in blocks)
        return "\n".join(head) + "\n\n\n" + body + "\n"

    def import_lines(self) -> list[str]:
        stdlib = [f"import {m}" for m in sorted(self.stdlib)]
        if self.typing:
            stdlib.append(f"from typing import {', '.join(sorted(self.typing))}")
        lines = [*stdlib]
        if self.uses_msgspec:
            lines += ["", "import msgspec"] if lines else ["import msgspec"]
        local = [
            ("_base", self.base_names),
            *sorted((f".{m}", n) for m, n in self.imports.items()),
        ]
        local_lines: list[str] = []
        for module, names in local:
            if names:
                # _base is hand-written, one package up from _generated/.
                target = ".._base" if module == "_base" else module
                local_lines += import_from(target, sorted(names, key=isort_key))
        if local_lines:
            lines += ["", *local_lines] if lines else local_lines
        return lines


def natural(text: str) -> tuple[object, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def casing(name: str) -> int:
    """isort's order-by-type: CONSTANTS, then Classes, then everything else."""
    if name.isupper() and len(name) > 1:
        return 0
    return 1 if name[:1].isupper() else 2


def isort_key(name: str) -> tuple[int, tuple[object, ...]]:
    """Ruff's isort order for the names of one ``from ... import``."""
    return casing(name), natural(name.lower())


def sorted_all(names: Iterable[str]) -> list[str]:
    """``__all__`` in the order ruff's RUF022 wants (isort-style, case-sensitive)."""
    return sorted(names, key=lambda name: (casing(name), natural(name)))


def import_from(module: str, names: list[str]) -> list[str]:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [f"from {module} import (", *[f"    {n}," for n in names], ")"]


def all_lines(names: list[str]) -> list[str]:
    one_line = f"__all__ = [{', '.join(json.dumps(n) for n in names)}]"
    if len(one_line) <= LINE_LENGTH:
        return [one_line]
    return ["__all__ = [", *[f"    {json.dumps(n)}," for n in names], "]"]


def header(schema: Schema, module: str, title: str) -> list[str]:
    group = "v2" if module.startswith("_v2") else module
    sources = ", ".join(SOURCES[group])
    lines = [
        "# Generated by tools/gen_schema.py -- DO NOT EDIT.",
        f"# Source: ../shared/schema/{sources}{hcsshim_commit(schema.schema_dir)}.",
        "# Change the generator (or the data) and run `python tools/gen_schema.py`.",
        *docstring(title, ""),
        "",
    ]
    return lines


def hcsshim_commit(schema_dir: Path) -> str:
    summary = schema_dir / "SUMMARY.md"
    if summary.exists():
        found = re.search(r"hcsshim `([0-9a-f]{40})`", summary.read_text(encoding="utf-8"))
        if found:
            return f" (hcsshim {found[1][:12]})"
    return ""


def render_v2_facade(schema: Schema) -> str:
    by_module: dict[str, list[str]] = {}
    for d in schema.defs.values():
        if d.group == "v2" and d.public:
            by_module.setdefault(d.module, []).append(d.name)
    lines = header(
        schema,
        "v2",
        "HCS schema v2 documents (``hcsaio.schema.v2``).\n\n"
        "Every HCS v2 type as a msgspec struct or enum, re-exported from the area modules "
        "``_v2_*``. Build documents with keyword arguments "
        "(``v2.Memory(size_in_mb=512)``); encode and decode them with ``hcsaio.schema.encode``"
        " / ``hcsaio.schema.decode``.",
    )
    for module in sorted(by_module):
        lines += import_from(f"._generated.{module}", sorted(by_module[module], key=isort_key))
    names = sorted_all(n for names in by_module.values() for n in names)
    lines += ["", *all_lines(names)]
    return "\n".join(lines) + "\n"


GENERATED_INIT = (
    "# Generated by tools/gen_schema.py -- DO NOT EDIT.\n"
    '"""The generated struct and enum modules behind ``hcsaio.schema.v2``, ``v1``, ``hcn`` '
    "and ``hns``.\n\nImport the public modules, not these: their layout follows the "
    'generator.\n"""\n'
)


def render_facade(schema: Schema, group: str, title: str) -> str:
    """The public module of one group: every public name of ``_generated/<group>``."""
    names = sorted_all(d.name for d in schema.defs.values() if d.module == group and d.public)
    lines = header(schema, group, title)
    lines += import_from(f"._generated.{group}", sorted(names, key=isort_key))
    lines += ["", *all_lines(names)]
    return "\n".join(lines) + "\n"


TITLES = {
    "v1": "HCS schema v1 documents (``hcsaio.schema.v1``): the vmcompute.dll era "
    "ContainerConfig / ProcessConfig and their property responses.",
    "hcn": "HCN documents (``hcsaio.schema.hcn``): networks, endpoints, namespaces, load "
    "balancers, routes, policies and queries of computenetwork.dll.",
    "hns": "HNS v1 documents (``hcsaio.schema.hns``): the legacy HNSCall networks, endpoints, "
    "policies and policy lists.",
}


def generate(schema_dir: Path) -> dict[Path, str]:
    schema = Schema(schema_dir)
    out: dict[Path, str] = {}
    # The struct modules live in _generated/; the public modules beside the
    # hand-written helpers (v2.py, v1.py, hcn.py, hns.py) are thin generated
    # facades naming every public type, so `hcsaio.schema.v2.Memory` and
    # IDE completion keep working while the tree shows what is generated.
    out[GENERATED_DIR / "__init__.py"] = GENERATED_INIT
    for area, (title, _) in V2_AREAS.items():
        module = f"_v2_{area}"
        text = Renderer(schema, module, f"HCS schema v2, {title}.").render()
        out[GENERATED_DIR / f"{module}.py"] = text
    out[PACKAGE_DIR / "v2.py"] = render_v2_facade(schema)
    for group, title in TITLES.items():
        renderer = Renderer(schema, group, title)
        out[GENERATED_DIR / f"{group}.py"] = renderer.render()
        out[PACKAGE_DIR / f"{group}.py"] = render_facade(schema, group, title)
    check_module_cycles(schema)
    return out


def check_module_cycles(schema: Schema) -> None:
    edges: dict[str, set[str]] = {}
    for d in schema.defs.values():
        for ref in schema.references(d):
            if ref.module != d.module:
                edges.setdefault(d.module, set()).add(ref.module)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cyclic = sorted(m for m in edges if reaches(m, m, set()))
    if cyclic:
        raise SystemExit(f"area modules import each other in a cycle: {cyclic}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schema-dir", type=Path, default=DEFAULT_SCHEMA_DIR)
    parser.add_argument(
        "--check", action="store_true", help="fail with a diff if the files are out of date"
    )
    args = parser.parse_args(argv)
    files = generate(args.schema_dir)
    if args.check:
        drift = False
        for path, text in sorted(files.items()):
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                drift = True
                rel = path.relative_to(REPO)
                sys.stdout.writelines(
                    difflib.unified_diff(
                        current.splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        f"a/{rel}",
                        f"b/{rel}",
                    )
                )
        if drift:
            print("schema modules are out of date: run `python tools/gen_schema.py`")
            return 1
        print(f"{len(files)} schema modules up to date")
        return 0
    for path, text in sorted(files.items()):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
