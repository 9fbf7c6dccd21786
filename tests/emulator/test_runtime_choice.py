"""Which runtime a system gets, and that the properties say so: host mode
without privileges or storage (or with --mode host), real containers for
layered documents in a root service; and 200 real containers through the
whole stack leave no mounts, cgroups, fds or processes behind."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from . import hcsemu_abi as abi
from .conftest import Service, is_root, layered_document, service_children, start_service
from .hcsemu_abi import ffi

ServiceFactory = Callable[..., Service]


@pytest.fixture
def service_with(tmp_path: Path) -> Iterator[ServiceFactory]:
    started: list[Service] = []
    previous = os.environ.get("HCSAIO_EMULATOR_SOCKET")

    def make(*args: str, env: dict[str, str] | None = None) -> Service:
        svc = start_service(tmp_path / f"svc{len(started)}", *args, env=env)
        started.append(svc)
        os.environ["HCSAIO_EMULATOR_SOCKET"] = svc.socket
        return svc

    yield make
    for svc in started:
        assert svc.stop() == 0
    if previous is None:
        os.environ.pop("HCSAIO_EMULATOR_SOCKET", None)
    else:
        os.environ["HCSAIO_EMULATOR_SOCKET"] = previous


def mode_of(library: abi.Library, system_id: str, document: dict[str, object]) -> dict[str, object]:
    code, system, doc = library.create_system(system_id, document)
    assert code == abi.S_OK, doc
    try:
        return library.properties(system)
    finally:
        library.system_call("HcsTerminateComputeSystem", system)
        library.HcsCloseComputeSystem(system)


def test_without_storage_it_is_host_mode(
    library: abi.Library, service_with: ServiceFactory, sysid: str
) -> None:
    service_with()
    props = mode_of(library, sysid, abi.container_doc())
    assert props["EmulatorMode"] == "host" and "EmulatorNote" not in props


def test_mode_host_runs_layered_documents_on_the_host(
    library: abi.Library, service_with: ServiceFactory, sysid: str, tmp_path: Path
) -> None:
    service_with("--mode", "host")
    props = mode_of(library, sysid, layered_document(tmp_path, tmp_path))
    assert props["EmulatorMode"] == "host"
    assert "--mode host" in str(props["EmulatorNote"])


@pytest.mark.skipif(
    is_root(), reason="checks the unprivileged service; root runs it as nobody (test_unprivileged)"
)
def test_unprivileged_layered_documents_run_on_the_host(
    library: abi.Library, service_with: ServiceFactory, sysid: str, tmp_path: Path
) -> None:
    service_with()
    props = mode_of(library, sysid, layered_document(tmp_path, tmp_path))
    assert props["EmulatorMode"] == "host"
    assert "not root" in str(props["EmulatorNote"])


@pytest.mark.privileged
def test_root_runs_layered_documents_in_containers(
    library: abi.Library, service_with: ServiceFactory, sysid: str, tmp_path: Path, base_layer: Path
) -> None:
    service_with()
    system = library.running_system(sysid, layered_document(base_layer, tmp_path))
    try:
        assert library.properties(system)["EmulatorMode"] == "namespace"
        code, process, info, _ = library.create_process(
            system, {"CommandArgs": ["sh", "-c", "echo $$; hostname"], "CreateStdOutPipe": True}
        )
        assert code == abi.S_OK
        with os.fdopen(int(ffi.cast("uintptr_t", info.StdOutput)), "rb") as stdout:
            lines = stdout.read().decode().split()
        assert lines[0] == str(info.ProcessId)  # the pid HCS reports is the container's
        assert lines[1] == sysid  # its own uts namespace
        assert library.wait_process(process)[1]["ExitCode"] == 0  # type: ignore[index]
        library.HcsCloseProcess(process)
        assert library.system_call("HcsShutDownComputeSystem", system)[0] == abi.S_OK
        assert library.wait_system(system)[1] == {"Status": 0, "ExitType": "GracefulExit"}
    finally:
        library.HcsCloseComputeSystem(system)


def _ours(marker: str) -> tuple[list[str], list[str]]:
    """Mounts and cgroups naming this test's systems or files (other test
    runs on the machine may have their own meanwhile)."""
    mounts = [m for m in Path("/proc/self/mountinfo").read_text().splitlines() if marker in m]
    cgroups = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        cgroups += [os.path.join(root, d) for d in dirs if marker in d]
    return mounts, sorted(cgroups)


@pytest.mark.privileged
@pytest.mark.slow
def test_200_containers_leave_nothing_behind(
    library: abi.Library, service_with: ServiceFactory, sysid: str, tmp_path: Path, base_layer: Path
) -> None:
    # No standby shim: every process the service has is a container's.
    svc = service_with(env={"HCSAIO_SHIM_STANDBY": "0"})

    def cycle(index: int) -> None:
        scratch = tmp_path / f"scratch{index}"
        scratch.mkdir()
        system = library.running_system(f"{sysid}-{index}", layered_document(base_layer, scratch))
        if index < 0:  # the checks below would see this container's cgroups
            assert library.properties(system)["EmulatorMode"] == "namespace"
            assert _ours(f"{sysid}-{index}")[1]
        code, process, info, _ = library.create_process(
            system, {"CommandArgs": ["sh", "-c", "sleep 600 & echo x"], "CreateStdOutPipe": True}
        )
        assert code == abi.S_OK
        os.close(int(ffi.cast("uintptr_t", info.StdOutput)))
        library.wait_process(process)
        library.HcsCloseProcess(process)
        assert (
            library.system_call("HcsShutDownComputeSystem", system, '{"TimeoutSeconds": 5}')[0]
            == abi.S_OK
        )
        library.HcsCloseComputeSystem(system)

    def fds() -> tuple[int, int]:
        return len(os.listdir(f"/proc/{svc.process.pid}/fd")), len(os.listdir("/proc/self/fd"))

    cycle(-1)
    before = fds()
    for index in range(200):
        cycle(index)
    assert fds() == before
    for marker in (sysid, str(tmp_path)):
        assert _ours(marker) == ([], [])
    assert service_children(svc) == []
    out = ffi.new("PWSTR *")
    assert (
        library.HcsGetServiceProperties(library.w('{"PropertyTypes": ["EmulatorStatus"]}'), out)
        == abi.S_OK
    )
    status = json.loads(library.take(out) or "")["Properties"][0]
    assert status["Systems"] == 0 and status["Processes"] == 0


def _init_of(cmdline: bytes) -> int:
    """The host pid of the init of the pid namespace of the process whose
    command line is ``cmdline``."""
    entries = [e for e in os.listdir("/proc") if e.isdigit()]

    def read(path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError:
            return b""

    target = next(e for e in entries if read(f"/proc/{e}/cmdline") == cmdline)
    namespace = os.readlink(f"/proc/{target}/ns/pid")
    for entry in entries:
        status = read(f"/proc/{entry}/status").decode()
        nspid = [line for line in status.splitlines() if line.startswith("NSpid:")]
        try:
            same = os.readlink(f"/proc/{entry}/ns/pid") == namespace
        except OSError:
            continue
        if same and nspid and nspid[0].split()[-1] == "1":
            return int(entry)
    raise AssertionError("the container has no init")


@pytest.mark.privileged
def test_a_container_dying_on_its_own_is_an_unexpected_exit(
    library: abi.Library, service_with: ServiceFactory, sysid: str, tmp_path: Path, base_layer: Path
) -> None:
    service_with()
    system = library.running_system(sysid, layered_document(base_layer, tmp_path))
    log = abi.EventLog()
    seconds = str(600 + int(sysid[-6:], 16) % 100_000)  # a command line no one else runs
    try:
        assert library.HcsSetComputeSystemCallback(system, 0, ffi.NULL, log.callback) == abi.S_OK
        code, process, _, _ = library.create_process(system, {"CommandArgs": ["sleep", seconds]})
        assert code == abi.S_OK
        os.kill(_init_of(f"sleep\0{seconds}\0".encode()), 9)  # as if it had crashed
        log.wait_for(lambda events: [e[0] for e in events] == [1])
        assert json.loads(log.events[0][1] or "")["ExitType"] == "UnexpectedExit"
        assert library.wait_process(process)[0] == abi.S_OK
        assert library.properties(system)["State"] == "Stopped"
        library.HcsCloseProcess(process)
    finally:
        library.HcsCloseComputeSystem(system)
