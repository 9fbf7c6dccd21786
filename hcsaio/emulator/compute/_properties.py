"""Properties documents: of a compute system, for Enumerate, of the service."""

from __future__ import annotations

import os
from collections.abc import Iterable

from ._documents import SUPPORTED_SCHEMA_VERSIONS
from ._hresults import ERROR_NOT_SUPPORTED, HCS_E_INVALID_STATE, HcsFailure
from ._jsoncheck import JsonObject, get_list
from ._systems import ComputeSystem, State

# Property types HCS defines only for virtual machines (or guests).
VM_ONLY_PROPERTIES = frozenset(
    {
        "GuestMemory",
        "SharedMemoryRegion",
        "ContainerCredentialGuard",
        "GuestConnection",
        "ICHeartbeatStatus",
        "ProcessorTopology",
        "CpuGroup",
    }
)


def basic_properties(system: ComputeSystem) -> dict[str, object]:
    props: dict[str, object] = {
        "Id": system.id,
        "SystemType": "Container",
        "Name": system.id,
        "Owner": system.document.owner,
        "RuntimeOsType": "Linux",
        "State": system.state.value,
        "Stopped": system.state == State.STOPPED,
        "EmulatorMode": system.mode,
    }
    if system.exit_type is not None:
        props["ExitType"] = system.exit_type
    if system.note is not None:
        props["EmulatorNote"] = system.note
    return props


async def system_properties(system: ComputeSystem, query: JsonObject) -> dict[str, object]:
    props = basic_properties(system)
    for kind in (str(k) for k in get_list(query, "PropertyTypes")):
        if kind in VM_ONLY_PROPERTIES:
            raise HcsFailure(
                ERROR_NOT_SUPPORTED,
                f"The property type {kind!r} needs a virtual machine; {system.id!r} is a "
                "process-isolated container.",
            )
        if kind == "TerminateOnLastHandleClosed":
            props[kind] = system.document.terminate_on_last_handle_closed
        elif kind == "SystemGUID":
            props[kind] = system.guid
        else:  # Statistics, ProcessList, Memory: a live system only
            if system.state not in (State.RUNNING, State.PAUSED) or system.runtime is None:
                raise HcsFailure(
                    HCS_E_INVALID_STATE,
                    f"The property type {kind!r} needs a running system; {system.id!r} is "
                    f"{system.state.value}.",
                )
            if kind == "Statistics":
                props[kind] = await system.runtime.statistics()
            elif kind == "ProcessList":
                props[kind] = await system.runtime.process_list()
            else:
                props[kind] = _memory(system, await system.runtime.statistics())
    return props


def _host_memory_mb() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)


def _memory(system: ComputeSystem, statistics: dict[str, object]) -> dict[str, object]:
    """MemoryInformationForVm, as a container can fill it: the assigned
    memory is the document's limit (or the host's memory) in MB, available
    is what the working set leaves of it."""
    assigned = system.document.spec.memory_mb or _host_memory_mb()
    memory = statistics.get("Memory")
    used = memory.get("MemoryUsagePrivateWorkingSetBytes", 0) if isinstance(memory, dict) else 0
    used_mb = int(used) // (1024 * 1024)
    return {
        "VirtualNodeCount": 1,
        "VirtualMachineMemory": {
            "AvailableMemory": max(0, min(assigned - used_mb, 2**31 - 1)),
            "AvailableMemoryBuffer": 0,
            "ReservedMemory": 0,
            "AssignedMemory": assigned,
            "SlpActive": False,
            "BalancingEnabled": False,
            "DmOperationInProgress": False,
        },
    }


def matches(system: ComputeSystem, query: JsonObject) -> bool:
    """SystemQuery: every given list must contain the system's value."""
    checks = (
        ("Ids", system.id),
        ("Names", system.id),
        ("Types", "Container"),
        ("Owners", system.document.owner),
    )
    return all(value in get_list(query, key) for key, value in checks if query.get(key) is not None)


def enumerate_systems(systems: Iterable[ComputeSystem], query: JsonObject) -> list[object]:
    return [basic_properties(s) for s in systems if matches(s, query)]


def _processor_topology() -> dict[str, object]:
    count = os.cpu_count() or 1
    processors = []
    for index in range(count):
        topology = f"/sys/devices/system/cpu/cpu{index}/topology"
        processors.append(
            {
                "LpIndex": index,
                "NodeNumber": 0,
                "PackageId": _read_int(f"{topology}/physical_package_id"),
                "CoreId": _read_int(f"{topology}/core_id"),
                "RootVpIndex": index,
            }
        )
    return {"LogicalProcessorCount": count, "LogicalProcessors": processors}


def _read_int(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def service_properties(query: JsonObject, status: dict[str, object]) -> dict[str, object]:
    kinds = [str(k) for k in get_list(query, "PropertyTypes")] or ["Basic"]
    answers: list[object] = []
    for kind in kinds:
        if kind == "Basic":
            answers.append(
                {
                    "SupportedSchemaVersions": [
                        {"Major": major, "Minor": minor}
                        for major, minor in SUPPORTED_SCHEMA_VERSIONS
                    ]
                }
            )
        elif kind == "ProcessorTopology":
            answers.append(_processor_topology())
        elif kind == "EmulatorStatus":
            answers.append(status)
        else:
            raise HcsFailure(
                ERROR_NOT_SUPPORTED, f"The service property {kind!r} is not available here."
            )
    return {"Properties": answers}
