"""The shapes of the documents the service accepts (reference §5).

Field sets are those of hcsshim's schema2 types (``shared/schema``), written
out here rather than imported so the service checks hcsaio's structs instead
of sharing their mistakes. Fields the emulator cannot act on are still
listed (a client may legitimately send them) with a loose type check.
"""

from __future__ import annotations

from ._jsoncheck import (
    INT32,
    UINT16,
    UINT64,
    any_object,
    any_value,
    boolean,
    integer,
    list_of,
    map_of,
    number,
    one_of,
    string,
    struct,
)

VERSION = struct({"Major": INT32, "Minor": INT32}, required=frozenset({"Major", "Minor"}))

LAYER = struct({"Id": string, "Path": string, "PathType": string, "Cache": string})

STORAGE = struct(
    {
        "Layers": list_of(LAYER),
        "Path": string,
        "QoS": any_object,
        "PrivilegedContainerRootPath": string,
    }
)

MAPPED_DIRECTORY = struct(
    {"HostPath": string, "HostPathType": string, "ContainerPath": string, "ReadOnly": boolean}
)

CONTAINER = struct(
    {
        "GuestOs": struct({"HostName": string}),
        "Storage": STORAGE,
        "MappedDirectories": list_of(MAPPED_DIRECTORY),
        "MappedPipes": list_of(any_object),
        "Memory": struct({"SizeInMB": UINT64}),
        "Processor": struct({"Count": INT32, "Maximum": INT32, "Weight": INT32}),
        "Networking": any_object,
        "HvSocket": any_object,
        "ContainerCredentialGuard": any_object,
        "RegistryChanges": any_object,
        "AssignedDevices": list_of(any_object),
        "AdditionalDeviceNamespace": any_object,
        "IsolationType": string,
    }
)

COMPUTE_SYSTEM = struct(
    {
        "Owner": string,
        "SchemaVersion": VERSION,
        "HostingSystemId": string,
        "HostedSystem": any_value,
        "Container": CONTAINER,
        "VirtualMachine": any_object,
        "ShouldTerminateOnLastHandleClosed": boolean,
    },
    required=frozenset({"SchemaVersion"}),
)

PROCESS_PARAMETERS = struct(
    {
        "ApplicationName": string,
        "CommandLine": string,
        "CommandArgs": list_of(string),
        "User": string,
        "WorkingDirectory": string,
        "Environment": map_of(string),
        "RestrictedToken": boolean,
        "EmulateConsole": boolean,
        "CreateStdInPipe": boolean,
        "CreateStdOutPipe": boolean,
        "CreateStdErrPipe": boolean,
        "ConsoleSize": list_of(UINT16),
        "UseExistingLogin": boolean,
        "UseLegacyConsole": boolean,
    }
)

SYSTEM_PROPERTY_TYPES = (
    "Memory",
    "GuestMemory",
    "Statistics",
    "ProcessList",
    "TerminateOnLastHandleClosed",
    "SharedMemoryRegion",
    "ContainerCredentialGuard",
    "GuestConnection",
    "ICHeartbeatStatus",
    "ProcessorTopology",
    "CpuGroup",
    "SystemGUID",
)

PROPERTY_QUERY = struct(
    {"PropertyTypes": list_of(one_of(*SYSTEM_PROPERTY_TYPES)), "Queries": any_object}
)

SYSTEM_QUERY = struct(
    {
        "Ids": list_of(string),
        "Names": list_of(string),
        "Types": list_of(one_of("Container", "VirtualMachine")),
        "Owners": list_of(string),
    }
)

# ShutdownOptions (schema 2.5) plus one documented emulator extension,
# TimeoutSeconds: the grace period between SIGTERM and SIGKILL.
SHUTDOWN_OPTIONS = struct(
    {
        "Mechanism": one_of("GuestConnection", "IntegrationService"),
        "Type": one_of("Shutdown", "Hibernate", "Reboot"),
        "Force": boolean,
        "Reason": string,
        "TimeoutSeconds": number(0, 86400),
    }
)

PAUSE_OPTIONS = struct(
    {
        "SuspensionLevel": one_of("Suspend", "MemoryLow", "MemoryMedium", "MemoryHigh"),
        "HostedNotification": any_object,
    }
)

SAVE_OPTIONS = struct({"SaveType": one_of("ToFile", "AsTemplate"), "SaveStateFilePath": string})

CRASH_OPTIONS = struct({"Type": one_of("CrashGuest")})

SIGNAL_NAMES = ("CtrlC", "CtrlBreak", "CtrlClose", "CtrlLogOff", "CtrlShutdown")


def _signal(value: object, path: str) -> object:
    if isinstance(value, str):
        return one_of(*SIGNAL_NAMES)(value, path)
    return integer(1, 64)(value, path)


SIGNAL_OPTIONS = struct({"Signal": _signal}, required=frozenset({"Signal"}))

PROCESS_MODIFY = struct(
    {
        "Operation": one_of("ConsoleSize", "CloseHandle"),
        "ConsoleSize": struct(
            {"Height": UINT16, "Width": UINT16}, required=frozenset({"Height", "Width"})
        ),
        "CloseHandle": struct(
            {"Handle": one_of("StdIn", "StdOut", "StdErr", "All")},
            required=frozenset({"Handle"}),
        ),
    },
    required=frozenset({"Operation"}),
)

MODIFY_SETTING = struct(
    {
        "ResourcePath": string,
        "RequestType": one_of("Add", "Remove", "Update", "PreAdd"),
        "Settings": any_value,
        "GuestRequest": any_value,
    }
)

SERVICE_QUERY = struct(
    {
        "PropertyTypes": list_of(
            one_of(
                "Basic",
                "CpuGroup",
                "ProcessorTopology",
                "ContainerCredentialGuard",
                "QoSCapabilities",
                "EmulatorStatus",
            )
        ),
        "PropertyQueries": any_object,
    }
)

SERVICE_MODIFY = struct(
    {"PropertyType": string, "Settings": any_value}, required=frozenset({"PropertyType"})
)
