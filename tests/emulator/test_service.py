"""The service on its own: the socket's security, malformed frames, handle
isolation between clients, the command line, stopping."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hcsaio.emulator.wire._client import ServiceClient, ServiceUnavailable
from hcsaio.emulator.wire._protocol import PROTOCOL_VERSION, Frame, FrameDecoder, Kind, encode

from . import hcsemu_abi as abi
from .conftest import Service, is_root, start_service
from .hcsemu_abi import ffi
from .procs import alive

HCS_E_UNSUPPORTED_PROTOCOL_VERSION = 0x8037010C


def raw_client(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(path)
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        while True:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True


def test_socket_is_private(service: Service) -> None:
    mode = os.stat(service.socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(service.socket)).st_mode) == 0o700


def test_refuses_a_shared_directory_and_a_live_socket(tmp_path: Path, service: Service) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    command = [sys.executable, "-m", "hcsaio.emulator", "serve", "--socket"]
    result = subprocess.run(
        [*command, str(shared / "s.sock")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "private" in result.stderr
    result = subprocess.run([*command, service.socket], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "already listening" in result.stderr
    too_long = tmp_path / ("d" * 60) / ("e" * 60) / "hcs.sock"
    result = subprocess.run([*command, str(too_long)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "AF_UNIX allows 107" in result.stderr, result.stderr
    assert not too_long.parent.exists()  # refused before it made anything


def test_a_stale_socket_is_replaced(tmp_path: Path) -> None:
    directory = tmp_path / "stale"
    directory.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(directory / "hcs.sock"))
    stale.close()  # the file stays; nobody listens
    svc = start_service(directory)
    try:
        with ServiceClient(svc.socket) as client:
            assert client.status()["Systems"] == 0
    finally:
        assert svc.stop() == 0
    assert not (directory / "hcs.sock").exists()  # removed on exit


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x05\x00\x00\x00",  # a length below the header size
        struct.pack("<I", 1 << 30) + b"\x00" * 36,  # a length above the limit
        encode(Frame(Kind.REPLY)),  # a service-to-client kind
        encode(Frame(Kind.HELLO, arg=PROTOCOL_VERSION))[:-1] + b"",  # truncated: then EOF
        encode(Frame(Kind.HELLO, arg=PROTOCOL_VERSION))
        + encode(Frame(Kind.HELLO, arg=PROTOCOL_VERSION)),
        encode(Frame(Kind.HELLO, arg=PROTOCOL_VERSION))
        + encode(Frame(Kind.SYSTEM_OP, request=1, code=99)),
        encode(Frame(Kind.HELLO, arg=PROTOCOL_VERSION)) + encode(Frame(Kind.ENUMERATE, request=0)),
        encode(Frame(Kind.HELLO, arg=PROTOCOL_VERSION))
        + encode(Frame(Kind.CREATE_SYSTEM, request=1, object=5, fields=["", "a", "{}"]))
        + encode(Frame(Kind.CREATE_SYSTEM, request=2, object=5, fields=["", "b", "{}"])),
        encode(Frame(Kind.HELLO, arg=PROTOCOL_VERSION))[:6] + b"\x09" + b"\x00" * 33,  # 9 fields
    ],
)
def test_malformed_frames_drop_only_that_client(
    service: Service, hcs: abi.Library, garbage: bytes
) -> None:
    bystander = ServiceClient(service.socket)
    bad = raw_client(service.socket)
    bad.sendall(garbage)
    if garbage == encode(Frame(Kind.HELLO, arg=PROTOCOL_VERSION))[:-1]:
        bad.shutdown(socket.SHUT_WR)
    assert closed_by_peer(bad)
    bad.close()
    assert bystander.status()["Clients"] >= 1  # still served
    bystander.close()
    code, _listing = hcs.call(lambda op: hcs.HcsEnumerateComputeSystems(ffi.NULL, op))
    assert code == abi.S_OK


def test_version_mismatch_and_frames_before_hello(service: Service) -> None:
    sock = raw_client(service.socket)
    sock.sendall(encode(Frame(Kind.HELLO, arg=PROTOCOL_VERSION + 1)))
    reply = FrameDecoder().feed(sock.recv(65536))[0]
    assert (
        reply.kind == Kind.REPLY and reply.code & 0xFFFFFFFF == HCS_E_UNSUPPORTED_PROTOCOL_VERSION
    )
    assert closed_by_peer(sock)
    sock = raw_client(service.socket)
    sock.sendall(encode(Frame(Kind.ENUMERATE, request=1)))
    assert closed_by_peer(sock)


def test_handles_belong_to_their_connection(service: Service, hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    try:
        # Another client cannot use handle ids it did not open, whatever
        # their value; it can open the system by id, as on Windows.
        with ServiceClient(service.socket) as other:
            for handle_id in range(1, 8):
                reply = other.request(Frame(Kind.SYSTEM_OP, object=handle_id, code=9))
                assert reply.code & 0xFFFFFFFF == abi.E_HANDLE
            reply = other.request(
                Frame(Kind.OPEN_SYSTEM, object=1, arg=0x10000000, fields=["", sysid])
            )
            assert reply.code == 0
            reply = other.request(Frame(Kind.SYSTEM_OP, object=1, code=9))
            assert reply.code == 0 and json.loads(reply.text(0))["State"] == "Running"
            # Handle ids must be fresh: reusing one drops the client.
            other.request(Frame(Kind.OPEN_SYSTEM, object=1, arg=0x10000000, fields=["", sysid]))
    except ServiceUnavailable:
        pass  # the reuse above closed the connection, as it should
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)


@pytest.mark.skipif(not is_root(), reason="needs root to act as another user")
def test_peer_credentials_are_checked() -> None:
    """A root service accepts only root; another uid's connection is closed."""
    directory = Path(
        tempfile.mkdtemp(prefix="hcsemu-peer-", dir="/tmp")
    )  # reachable by nobody once opened up
    svc = start_service(directory / "svc")
    try:
        # Open the path (the service checked it was private at start), so
        # the other user reaches the socket and only SO_PEERCRED stops it.
        directory.chmod(0o711)
        (directory / "svc").chmod(0o711)
        os.chmod(svc.socket, 0o666)
        probe = (
            "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
            "s.settimeout(30); print('closed' if s.recv(64) == b'' else 'served')"
        )
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        result = subprocess.run(
            [*nobody, sys.executable, "-c", probe, svc.socket],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.stdout.strip() == "closed", result.stderr
        with ServiceClient(svc.socket) as client:  # root is still served
            assert client.status()["Clients"] == 1
    finally:
        assert svc.stop() == 0
        shutil.rmtree(directory)


def test_command_line_status_and_stop(service: Service) -> None:
    command = [sys.executable, "-m", "hcsaio.emulator"]
    result = subprocess.run(
        [*command, "status", "--socket", service.socket], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    status = json.loads(result.stdout)
    assert status["Pid"] == service.process.pid and status["ProtocolVersion"] == PROTOCOL_VERSION
    result = subprocess.run(
        [*command, "stop", "--socket", service.socket], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert service.process.wait(timeout=60) == 0
    assert not os.path.exists(service.socket)
    result = subprocess.run(
        [*command, "status", "--socket", service.socket], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "not running" in result.stderr


def test_sigterm_terminates_every_system(service: Service, hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    log = abi.EventLog()
    assert hcs.HcsSetComputeSystemCallback(system, 0, ffi.NULL, log.callback) == abi.S_OK
    _code, process, info, _ = hcs.create_process(system, {"CommandArgs": ["sleep", "600"]})
    service.process.terminate()
    assert service.process.wait(timeout=60) == 0
    log.wait_for(lambda events: 0x02000000 in [e[0] for e in events])
    assert [e[0] for e in log.events] == [1, 0x02000000]  # SystemExited, then the disconnect
    assert json.loads(log.events[0][1] or "")["ExitType"] == "UnexpectedExit"
    assert not os.path.exists(service.socket)
    assert not alive(info.ProcessId)
    hcs.HcsCloseProcess(process)
    hcs.HcsCloseComputeSystem(system)


def test_stopping_releases_the_standby_shims(tmp_path: Path) -> None:
    """The service's own shutdown closes the standby container shims, not
    only the interpreter's exit (a process running the service may go on)."""
    script = """
import asyncio, sys
from hcsaio.emulator.runtimes import _shim_launch
from hcsaio.emulator._service import EmulatorService
calls = []
original = _shim_launch.close_standby_shims
_shim_launch.close_standby_shims = lambda: (calls.append(1), original())[1]
async def main():
    service = EmulatorService(sys.argv[1], "host")
    asyncio.get_running_loop().call_later(0.2, service.request_stop)
    await service.run()
asyncio.run(main())
print("closed" if calls else "still open")
"""
    directory = tmp_path / "svc"
    directory.mkdir(mode=0o700)
    result = subprocess.run(
        [sys.executable, "-c", script, str(directory / "hcs.sock")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "closed"


def test_service_properties_and_settings(hcs: abi.Library) -> None:
    out = ffi.new("PWSTR *")
    for query in (None, "", '{"PropertyTypes": ["Basic"]}'):
        assert hcs.HcsGetServiceProperties(hcs.w(query), out) == abi.S_OK
        basic = json.loads(hcs.take(out) or "")["Properties"][0]
        assert {"Major": 2, "Minor": 1} in basic["SupportedSchemaVersions"]
    assert (
        hcs.HcsGetServiceProperties(
            hcs.w('{"PropertyTypes": ["ProcessorTopology", "EmulatorStatus"]}'), out
        )
        == abi.S_OK
    )
    topology, status = json.loads(hcs.take(out) or "")["Properties"]
    assert topology["LogicalProcessorCount"] == os.cpu_count()
    assert status["Mode"] == "auto" and status["Root"] == is_root()
    assert (
        abi.hr(hcs.HcsGetServiceProperties(hcs.w('{"PropertyTypes": ["CpuGroup"]}'), out))
        == abi.ERROR_NOT_SUPPORTED
    )
    assert json.loads(hcs.take(out) or "")["ErrorMessage"]
    assert (
        abi.hr(hcs.HcsGetServiceProperties(hcs.w('{"PropertyTypes": ["Nope"]}'), out))
        == abi.HCS_E_INVALID_JSON
    )
    hcs.take(out)
    assert abi.hr(hcs.HcsGetServiceProperties(ffi.NULL, ffi.NULL)) == abi.E_POINTER

    def modify(settings: str | None) -> int:
        code = abi.hr(hcs.HcsModifyServiceSettings(hcs.w(settings), out))
        hcs.take(out)
        return code

    assert (
        modify('{"PropertyType": "EmulatorFaults", "Settings": {"Delays": {"Start": 0.5}}}')
        == abi.S_OK
    )
    assert (
        hcs.HcsGetServiceProperties(hcs.w('{"PropertyTypes": ["EmulatorStatus"]}'), out) == abi.S_OK
    )
    assert json.loads(hcs.take(out) or "")["Properties"][0]["Faults"] == {"Delays": {"Start": 0.5}}
    assert modify('{"PropertyType": "EmulatorFaults", "Settings": {}}') == abi.S_OK
    assert (
        modify('{"PropertyType": "EmulatorFaults", "Settings": {"Delays": {"Nap": 1}}}')
        == abi.HCS_E_INVALID_JSON
    )
    assert (
        modify('{"PropertyType": "EmulatorFaults", "Settings": {"Delays": {"Start": -1}}}')
        == abi.HCS_E_INVALID_JSON
    )
    assert modify('{"PropertyType": "CpuGroup", "Settings": {}}') == abi.ERROR_NOT_SUPPORTED
    assert modify('{"PropertyType": "Bogus"}') == abi.E_INVALIDARG
    assert modify(None) == abi.E_INVALIDARG
    assert abi.hr(hcs.HcsSubmitWerReport(hcs.w('{"SystemId": "x"}'))) == abi.S_OK
    assert abi.hr(hcs.HcsSubmitWerReport(hcs.w("not json"))) == abi.HCS_E_INVALID_JSON
    assert abi.hr(hcs.HcsSubmitWerReport(ffi.NULL)) == abi.E_INVALIDARG


def test_hyper_v_only_helpers(hcs: abi.Library) -> None:
    path = hcs.w("/tmp/x.vmgs")
    for result in (
        hcs.HcsCreateEmptyGuestStateFile(path),
        hcs.HcsCreateEmptyRuntimeStateFile(path),
        hcs.HcsGrantVmAccess(hcs.w("vm"), path),
        hcs.HcsRevokeVmAccess(hcs.w("vm"), path),
        hcs.HcsGrantVmGroupAccess(path),
        hcs.HcsRevokeVmGroupAccess(path),
    ):
        assert abi.hr(result) == abi.HCS_E_HYPERV_NOT_INSTALLED
    assert abi.hr(hcs.HcsGrantVmAccess(ffi.NULL, path)) == abi.E_INVALIDARG
    assert hcs.LocalFree(ffi.NULL) == ffi.NULL
    hcs.CoTaskMemFree(ffi.NULL)


def test_command_line_make_base_layer(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    result = subprocess.run(
        [sys.executable, "-m", "hcsaio.emulator", "make-base-layer", str(layer)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert (layer / "bin" / "sh").exists() or (layer / "usr" / "bin" / "sh").exists()


def test_the_library_follows_the_socket_variable(
    hcs: abi.Library, service: Service, sysid: str, tmp_path: Path
) -> None:
    """Pointing HCSAIO_EMULATOR_SOCKET at another service moves new calls
    there; handles made on the first one keep working with it."""
    first = hcs.running_system(sysid)
    other = start_service(tmp_path / "other")
    try:
        os.environ["HCSAIO_EMULATOR_SOCKET"] = other.socket
        code, listing = hcs.call(lambda op: hcs.HcsEnumerateComputeSystems(ffi.NULL, op))
        assert code == abi.S_OK and listing == "[]"  # the other service's (empty) view
        assert hcs.properties(first)["State"] == "Running"  # still on the first service
        assert hcs.system_call("HcsTerminateComputeSystem", first)[0] == abi.S_OK
        hcs.HcsCloseComputeSystem(first)
        # Its last handle gone, the library closes the unused old connection
        # (nothing notifies that: look, for a bounded time).
        with ServiceClient(service.socket) as probe:
            deadline = time.monotonic() + 30
            while probe.status()["Clients"] > 1:
                assert time.monotonic() < deadline, "the old connection stayed open"
                time.sleep(0.05)
        os.environ["HCSAIO_EMULATOR_SOCKET"] = service.socket
        code, listing = hcs.call(lambda op: hcs.HcsEnumerateComputeSystems(ffi.NULL, op))
        assert code == abi.S_OK and listing == "[]"  # the first one forgot the closed system
    finally:
        os.environ["HCSAIO_EMULATOR_SOCKET"] = service.socket
        assert other.stop() == 0
