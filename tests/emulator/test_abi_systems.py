"""Compute systems through the ABI (reference 3.2): the state machine, the
HRESULTs and ResultError documents, properties, enumeration, namespaces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from . import hcsemu_abi as abi
from .hcsemu_abi import ffi, hr
from .procs import alive


def error_of(doc: str | None) -> dict[str, Any]:
    assert doc is not None, "a failure must carry a ResultError document"
    parsed = json.loads(doc)
    assert isinstance(parsed["Error"], int) and parsed["ErrorMessage"]
    return dict(parsed)


def test_lifecycle_and_states(hcs: abi.Library, sysid: str) -> None:
    code, system, _ = hcs.create_system(sysid)
    assert code == abi.S_OK and system != ffi.NULL
    try:
        props = hcs.properties(system)
        assert props["Id"] == sysid and props["State"] == "Created"
        assert props["SystemType"] == "Container" and props["RuntimeOsType"] == "Linux"
        assert props["Owner"] == "tests" and props["EmulatorMode"] == "host"
        assert hcs.system_call("HcsPauseComputeSystem", system)[0] == abi.HCS_E_INVALID_STATE
        assert hcs.system_call("HcsStartComputeSystem", system) == (abi.S_OK, None)
        assert hcs.properties(system)["State"] == "Running"
        code, doc = hcs.system_call("HcsStartComputeSystem", system)
        assert code == abi.HCS_E_INVALID_STATE and hr(error_of(doc)["Error"]) == code
        assert hcs.system_call("HcsResumeComputeSystem", system)[0] == abi.HCS_E_INVALID_STATE
        assert hcs.system_call("HcsPauseComputeSystem", system, "") == (abi.S_OK, None)
        assert hcs.properties(system)["State"] == "Paused"
        assert hcs.system_call("HcsResumeComputeSystem", system, "{}") == (abi.S_OK, None)
        assert hcs.properties(system)["State"] == "Running"
        assert hcs.system_call("HcsShutDownComputeSystem", system) == (abi.S_OK, None)
        props = hcs.properties(system)
        assert props["State"] == "Stopped" and props["Stopped"] is True
        assert props["ExitType"] == "GracefulExit"
        for call in ("HcsShutDownComputeSystem", "HcsTerminateComputeSystem"):
            code, doc = hcs.system_call(call, system)
            assert code == abi.HCS_E_SYSTEM_ALREADY_STOPPED
            error_of(doc)
        assert hcs.system_call("HcsStartComputeSystem", system)[0] == abi.HCS_E_INVALID_STATE
    finally:
        hcs.HcsCloseComputeSystem(system)


def test_terminate_a_created_system(hcs: abi.Library, sysid: str) -> None:
    _code, system, _ = hcs.create_system(sysid)
    try:
        assert hcs.system_call("HcsTerminateComputeSystem", system, "") == (abi.S_OK, None)
        assert hcs.wait_system(system) == (abi.S_OK, {"Status": 0, "ExitType": "ForcedExit"})
    finally:
        hcs.HcsCloseComputeSystem(system)


def test_ids_exist_until_the_last_handle_of_a_stopped_system_closes(
    hcs: abi.Library, sysid: str
) -> None:
    code, first, _ = hcs.create_system(sysid)
    assert code == abi.S_OK
    code, second, doc = hcs.create_system(sysid)
    assert code == abi.HCS_E_SYSTEM_ALREADY_EXISTS and sysid in error_of(doc)["ErrorMessage"]
    hcs.HcsCloseComputeSystem(second)
    assert hcs.system_call("HcsTerminateComputeSystem", first)[0] == abi.S_OK
    assert hcs.create_system(sysid)[0] == abi.HCS_E_SYSTEM_ALREADY_EXISTS  # stopped, still open
    hcs.HcsCloseComputeSystem(first)
    code, again, _ = hcs.create_system(sysid)
    assert code == abi.S_OK
    hcs.system_call("HcsTerminateComputeSystem", again)
    hcs.HcsCloseComputeSystem(again)


def test_open_by_id(hcs: abi.Library, sysid: str) -> None:
    out = ffi.new("HCS_SYSTEM *")
    code = hcs.HcsOpenComputeSystem(hcs.w(sysid), 0x10000000, out)
    assert hr(code) == abi.HCS_E_SYSTEM_NOT_FOUND and out[0] == ffi.NULL
    system = hcs.running_system(sysid)
    try:
        assert hr(hcs.HcsOpenComputeSystem(hcs.w(sysid), 0x1, out)) == abi.E_INVALIDARG
        assert hr(hcs.HcsOpenComputeSystem(ffi.NULL, 0x10000000, out)) == abi.E_INVALIDARG
        assert hr(hcs.HcsOpenComputeSystem(hcs.w(sysid), 0x10000000, ffi.NULL)) == abi.E_INVALIDARG
        assert hcs.HcsOpenComputeSystem(hcs.w(sysid), 0x10000000, out) == abi.S_OK
        other = out[0]
        assert other != system
        assert hcs.properties(other)["State"] == "Running"
        assert hcs.system_call("HcsTerminateComputeSystem", other)[0] == abi.S_OK
        assert hcs.properties(system)["State"] == "Stopped"
        hcs.HcsCloseComputeSystem(other)
        assert hr(hcs.system_call("HcsStartComputeSystem", other)[0]) == abi.E_HANDLE
    finally:
        hcs.HcsCloseComputeSystem(system)


def test_invalid_handles_never_crash(hcs: abi.Library) -> None:
    garbage = ffi.cast("HCS_SYSTEM", 0xDEAD0)
    for call in (
        "HcsStartComputeSystem",
        "HcsShutDownComputeSystem",
        "HcsTerminateComputeSystem",
        "HcsPauseComputeSystem",
        "HcsResumeComputeSystem",
        "HcsSaveComputeSystem",
        "HcsCrashComputeSystem",
        "HcsGetComputeSystemProperties",
        "HcsInitializeLiveMigrationOnSource",
    ):
        for handle in (ffi.NULL, garbage):
            assert hcs.system_call(call, handle)[0] == abi.E_HANDLE, call
    assert (
        hcs.call(lambda op: hcs.HcsModifyComputeSystem(garbage, op, hcs.w("{}"), ffi.NULL))[0]
        == abi.E_HANDLE
    )
    log = abi.EventLog()
    assert hr(hcs.HcsSetComputeSystemCallback(garbage, 0, ffi.NULL, log.callback)) == abi.E_HANDLE
    assert hcs.wait_system(garbage, 0) == (abi.E_HANDLE, None)
    hcs.HcsCloseComputeSystem(garbage)
    hcs.HcsCloseComputeSystem(ffi.NULL)


@pytest.mark.parametrize(
    ("document", "expected", "where"),
    [
        (
            '{"SchemaVersion": {"Major": 2, "Minor": 1}, "Container": {"Storge": {}}}',
            abi.HCS_E_INVALID_JSON,
            "Container.Storge",
        ),
        (
            '{"SchemaVersion": {"Major": 2, "Minor": 1}, "Container": {"Memory": {"SizeInMB": -1}}}',
            abi.HCS_E_INVALID_JSON,
            "Container.Memory.SizeInMB",
        ),
        (
            '{"SchemaVersion": {"Major": 2, "Minor": 1}, "Owner": 5, "Container": {}}',
            abi.HCS_E_INVALID_JSON,
            "'Owner'",
        ),
        (
            '{"SchemaVersion": {"Major": 3, "Minor": 0}, "Container": {}}',
            abi.HCS_E_INVALID_JSON,
            "SchemaVersion",
        ),
        ('{"Container": {}}', abi.HCS_E_INVALID_JSON, "SchemaVersion"),
        ('{"SchemaVersion": {"Major": 2, "Minor": 1}}', abi.HCS_E_INVALID_JSON, "exactly one"),
        (
            '{"SchemaVersion": {"Major": 2, "Minor": 1}, "Container": {}, "Container": {}}',
            abi.HCS_E_INVALID_JSON,
            "duplicate",
        ),
        ('{"SchemaVersion": ', abi.HCS_E_INVALID_JSON, "not valid JSON"),
        ("", abi.E_INVALIDARG, "empty"),
        (
            '{"SchemaVersion": {"Major": 2, "Minor": 1}, "VirtualMachine": {}}',
            abi.HCS_E_HYPERV_NOT_INSTALLED,
            "Hyper-V",
        ),
        (
            '{"SchemaVersion": {"Major": 2, "Minor": 1}, "HostingSystemId": "uvm", "Container": {}}',
            abi.HCS_E_HYPERV_NOT_INSTALLED,
            "Hyper-V",
        ),
    ],
)
def test_bad_documents(
    hcs: abi.Library, sysid: str, document: str, expected: int, where: str
) -> None:
    code, system, doc = hcs.create_system(sysid, document)
    try:
        assert code == expected
        assert where in error_of(doc)["ErrorMessage"]
        # The id was never taken, and the handle leads nowhere.
        assert hcs.system_call("HcsStartComputeSystem", system)[0] == abi.HCS_E_SYSTEM_NOT_FOUND
    finally:
        hcs.HcsCloseComputeSystem(system)


@pytest.mark.parametrize("bad_id", ["", "a/b", "..", "x" * 257, "tab\there"])
def test_ids_are_validated(hcs: abi.Library, bad_id: str) -> None:
    code, system, doc = hcs.create_system(bad_id)
    hcs.HcsCloseComputeSystem(system)
    assert code == abi.E_INVALIDARG and "not a valid" in error_of(doc)["ErrorMessage"]


def test_required_arguments(hcs: abi.Library, sysid: str) -> None:
    out = ffi.new("HCS_SYSTEM *")
    doc = hcs.w(json.dumps(abi.container_doc()))
    for args in (
        (ffi.NULL, doc, out),
        (hcs.w(sysid), ffi.NULL, out),
        (hcs.w(sysid), doc, ffi.NULL),
    ):
        code, _ = hcs.call(
            lambda op, a=args: hcs.HcsCreateComputeSystem(a[0], a[1], op, ffi.NULL, a[2])
        )
        assert code == abi.E_INVALIDARG
    sd = ffi.cast("SECURITY_DESCRIPTOR *", 0x10)
    code, _ = hcs.call(lambda op: hcs.HcsCreateComputeSystem(hcs.w(sysid), doc, op, sd, out))
    assert code == abi.E_INVALIDARG


def test_properties_by_type(hcs: abi.Library, sysid: str) -> None:
    doc = abi.container_doc(ShouldTerminateOnLastHandleClosed=False)
    doc["Container"] = {"Memory": {"SizeInMB": 256}}
    system = hcs.running_system(sysid, doc)
    try:
        props = hcs.properties(
            system,
            {
                "PropertyTypes": [
                    "Statistics",
                    "ProcessList",
                    "Memory",
                    "TerminateOnLastHandleClosed",
                    "SystemGUID",
                ]
            },
        )
        stats = props["Statistics"]
        assert set(stats) >= {
            "Timestamp",
            "ContainerStartTime",
            "Uptime100ns",
            "Processor",
            "Memory",
        }
        assert props["ProcessList"] == []
        assert props["Memory"]["VirtualMachineMemory"]["AssignedMemory"] == 256
        assert props["TerminateOnLastHandleClosed"] is False
        assert len(props["SystemGUID"]) == 36
        for vm_only in ("GuestMemory", "ICHeartbeatStatus", "CpuGroup"):
            code, err = hcs.call(
                lambda op, t=vm_only: hcs.HcsGetComputeSystemProperties(
                    system, op, hcs.w(json.dumps({"PropertyTypes": [t]}))
                )
            )
            assert code == abi.ERROR_NOT_SUPPORTED and vm_only in error_of(err)["ErrorMessage"]
        code, err = hcs.call(
            lambda op: hcs.HcsGetComputeSystemProperties(
                system, op, hcs.w('{"PropertyTypes": ["Bogus"]}')
            )
        )
        assert (
            code == abi.HCS_E_INVALID_JSON and "PropertyTypes[0]" in error_of(err)["ErrorMessage"]
        )
        for empty in (None, "", "{}"):
            assert (
                hcs.call(
                    lambda op, q=empty: hcs.HcsGetComputeSystemProperties(system, op, hcs.w(q))
                )[0]
                == abi.S_OK
            )
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)


def test_statistics_need_a_live_system(hcs: abi.Library, sysid: str) -> None:
    code, system, _ = hcs.create_system(sysid)
    try:
        code, doc = hcs.call(
            lambda op: hcs.HcsGetComputeSystemProperties(
                system, op, hcs.w('{"PropertyTypes": ["Statistics"]}')
            )
        )
        assert code == abi.HCS_E_INVALID_STATE and "Created" in error_of(doc)["ErrorMessage"]
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)


def test_refused_operations(hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    try:
        code, doc = hcs.system_call("HcsSaveComputeSystem", system, '{"SaveType": "ToFile"}')
        assert code == abi.ERROR_NOT_SUPPORTED and error_of(doc)
        assert (
            hcs.system_call("HcsSaveComputeSystem", system, '{"SaveType": 1}')[0]
            == abi.HCS_E_INVALID_JSON
        )
        assert hcs.system_call("HcsCrashComputeSystem", system)[0] == abi.ERROR_NOT_SUPPORTED
        for call in (
            "HcsInitializeLiveMigrationOnSource",
            "HcsStartLiveMigrationOnSource",
            "HcsStartLiveMigrationTransfer",
            "HcsFinalizeLiveMigration",
            "HcsCancelLiveMigration",
        ):
            assert hcs.system_call(call, system)[0] == abi.HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION
        modify = json.dumps(
            {"ResourcePath": "Container/Memory/SizeInMB", "RequestType": "Update", "Settings": 5}
        )
        code, doc = hcs.call(
            lambda op: hcs.HcsModifyComputeSystem(system, op, hcs.w(modify), ffi.NULL)
        )
        assert (
            code == abi.ERROR_NOT_SUPPORTED
            and "Container/Memory/SizeInMB" in error_of(doc)["ErrorMessage"]
        )
        code, _ = hcs.call(lambda op: hcs.HcsModifyComputeSystem(system, op, ffi.NULL, ffi.NULL))
        assert code == abi.E_INVALIDARG
        token = ffi.cast("HANDLE", 8)
        code, _ = hcs.call(lambda op: hcs.HcsModifyComputeSystem(system, op, hcs.w(modify), token))
        assert code == abi.E_NOTIMPL
        assert (
            hcs.system_call("HcsShutDownComputeSystem", system, '{"Type": "Reboot"}')[0]
            == abi.ERROR_NOT_SUPPORTED
        )
        assert (
            hcs.system_call("HcsShutDownComputeSystem", system, '{"Force": "yes"}')[0]
            == abi.HCS_E_INVALID_JSON
        )
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)


def test_enumerate_with_queries(hcs: abi.Library, sysid: str) -> None:
    created = []
    for index, owner in enumerate(("alpha", "beta", "alpha")):
        code, system, _ = hcs.create_system(f"{sysid}-{index}", abi.container_doc(Owner=owner))
        assert code == abi.S_OK
        created.append(system)
    try:

        def listing(query: object) -> list[str]:
            code, doc = hcs.call(
                lambda op: hcs.HcsEnumerateComputeSystems(
                    hcs.w(None if query is None else json.dumps(query)), op
                )
            )
            assert code == abi.S_OK
            entries = json.loads(doc or "")
            assert all(
                {"Id", "State", "SystemType", "Owner", "EmulatorMode"} <= set(e) for e in entries
            )
            return sorted(e["Id"] for e in entries)

        ids = [f"{sysid}-{i}" for i in range(3)]
        assert listing(None) == ids
        assert listing({}) == ids
        assert listing({"Owners": ["alpha"]}) == [ids[0], ids[2]]
        assert listing({"Ids": [ids[1]], "Owners": ["beta"]}) == [ids[1]]
        assert listing({"Names": [ids[2]]}) == [ids[2]]
        assert listing({"Types": ["VirtualMachine"]}) == []
        assert listing({"Types": ["Container"]}) == ids
        code, doc = hcs.call(
            lambda op: hcs.HcsEnumerateComputeSystems(hcs.w('{"Types": ["Silo"]}'), op)
        )
        assert code == abi.HCS_E_INVALID_JSON and "Types[0]" in error_of(doc)["ErrorMessage"]
    finally:
        for system in created:
            hcs.system_call("HcsTerminateComputeSystem", system)
            hcs.HcsCloseComputeSystem(system)


def test_namespaces_scope_ids(hcs: abi.Library, sysid: str) -> None:
    doc = hcs.w(json.dumps(abi.container_doc()))
    out = ffi.new("HCS_SYSTEM *")
    code, _ = hcs.call(
        lambda op: hcs.HcsCreateComputeSystemInNamespace(
            hcs.w("ns1"), hcs.w(sysid), doc, op, ffi.NULL, out
        )
    )
    assert code == abi.S_OK
    in_ns = out[0]
    try:
        code, plain, _ = hcs.create_system(sysid)  # same id, default namespace: another system
        assert code == abi.S_OK
        code, listed = hcs.call(
            lambda op: hcs.HcsEnumerateComputeSystemsInNamespace(hcs.w("ns1"), ffi.NULL, op)
        )
        assert [e["Id"] for e in json.loads(listed or "")] == [sysid]
        opened = ffi.new("HCS_SYSTEM *")
        assert (
            hcs.HcsOpenComputeSystemInNamespace(hcs.w("ns1"), hcs.w(sysid), 0x10000000, opened)
            == abi.S_OK
        )
        hcs.HcsCloseComputeSystem(opened[0])
        code = hcs.HcsOpenComputeSystemInNamespace(hcs.w("ns2"), hcs.w(sysid), 0x10000000, opened)
        assert hr(code) == abi.HCS_E_SYSTEM_NOT_FOUND
        code, _ = hcs.call(
            lambda op: hcs.HcsEnumerateComputeSystemsInNamespace(ffi.NULL, ffi.NULL, op)
        )
        assert code == abi.E_INVALIDARG
        hcs.system_call("HcsTerminateComputeSystem", plain)
        hcs.HcsCloseComputeSystem(plain)
    finally:
        hcs.system_call("HcsTerminateComputeSystem", in_ns)
        hcs.HcsCloseComputeSystem(in_ns)


def test_create_options_register_the_callback_atomically(hcs: abi.Library, sysid: str) -> None:
    log = abi.EventLog()
    options = ffi.new("HCS_CREATE_OPTIONS_1 *")
    options.Version = 0x00010000
    options.CallbackOptions = 0
    options.CallbackContext = ffi.NULL
    options.Callback = log.callback
    doc = hcs.w(json.dumps(abi.container_doc()))
    out = ffi.new("HCS_SYSTEM *")
    as_options = ffi.cast("HCS_CREATE_OPTIONS *", options)
    code, _ = hcs.call(
        lambda op: hcs.HcsCreateComputeSystemInNamespace(
            hcs.w(""), hcs.w(sysid), doc, op, as_options, out
        )
    )
    assert code == abi.S_OK
    system = out[0]
    try:
        assert (
            hr(hcs.HcsSetComputeSystemCallback(system, 0, ffi.NULL, log.callback))
            == abi.HCS_E_CALLBACK_ALREADY_SET
        )
        assert hcs.system_call("HcsTerminateComputeSystem", system)[0] == abi.S_OK
        log.wait_for(lambda events: [e[0] for e in events] == [1])
    finally:
        hcs.HcsCloseComputeSystem(system)
    options.Version = 7
    code, _ = hcs.call(
        lambda op: hcs.HcsCreateComputeSystemInNamespace(
            hcs.w(""), hcs.w(sysid + "x"), doc, op, as_options, out
        )
    )
    assert code == abi.E_INVALIDARG
    options.Version = 0x00010000
    options.UserToken = ffi.cast("HANDLE", 4)
    code, _ = hcs.call(
        lambda op: hcs.HcsCreateComputeSystemInNamespace(
            hcs.w(""), hcs.w(sysid + "y"), doc, op, as_options, out
        )
    )
    assert code == abi.E_NOTIMPL


def test_terminate_on_last_handle_closed(hcs: abi.Library, sysid: str) -> None:
    doc = abi.container_doc(ShouldTerminateOnLastHandleClosed=True)
    system = hcs.running_system(sysid, doc)
    code, process, info, _ = hcs.create_process(system, {"CommandArgs": ["sleep", "600"]})
    assert code == abi.S_OK
    pid = info.ProcessId
    hcs.HcsCloseComputeSystem(system)  # the last system handle
    code, status = hcs.wait_process(process)
    assert code == abi.S_OK and status is not None and status["ExitCode"] == 128 + 9
    hcs.HcsCloseProcess(process)
    assert not alive(pid)
    # The system is gone once stopped and unreferenced: its id is free again.
    out = ffi.new("HCS_SYSTEM *")
    for _ in range(100):
        code = hcs.HcsOpenComputeSystem(hcs.w(sysid), 0x10000000, out)
        if hr(code) == abi.HCS_E_SYSTEM_NOT_FOUND:
            break
        hcs.wait_system(out[0])
        hcs.HcsCloseComputeSystem(out[0])
    assert hr(code) == abi.HCS_E_SYSTEM_NOT_FOUND


def test_a_system_without_that_flag_outlives_its_handles(hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    hcs.HcsCloseComputeSystem(system)
    out = ffi.new("HCS_SYSTEM *")
    assert hcs.HcsOpenComputeSystem(hcs.w(sysid), 0x10000000, out) == abi.S_OK
    assert hcs.properties(out[0])["State"] == "Running"
    hcs.system_call("HcsTerminateComputeSystem", out[0])
    hcs.HcsCloseComputeSystem(out[0])


def test_wait_for_system_exit(hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    try:
        assert hcs.wait_system(system, 50) == (abi.HCS_E_OPERATION_TIMEOUT, None)
        assert hcs.system_call("HcsShutDownComputeSystem", system, '{"Force": true}')[0] == abi.S_OK
        assert hcs.wait_system(system, 0) == (abi.S_OK, {"Status": 0, "ExitType": "GracefulExit"})
    finally:
        hcs.HcsCloseComputeSystem(system)
