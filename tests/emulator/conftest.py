"""Fixtures for the emulator suite: a private service per test (or module),
and libhcsemu loaded through cffi in ABI mode.

Every test talks to its own service on a socket in its own 0700
directory; the library follows ``HCSAIO_EMULATOR_SOCKET`` and reconnects
when the previous test's service is gone.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hcsaio.emulator import _launcher

from . import hcsemu_abi as abi

HERE = Path(__file__).resolve().parent

START_TIMEOUT = 60.0


@dataclass
class Service:
    socket: str
    process: subprocess.Popen[bytes]
    lifeline: int | None

    def stop(self) -> int:
        """Stop as the launcher does (close the lifeline); the exit code."""
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None
        else:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None


def _like_a_background_job() -> None:
    """Start every test service the way a shell's ``nohup ... &`` would:
    SIGINT, SIGQUIT and SIGHUP ignored. Container processes must still get
    default dispositions (test_abi_processes.test_signals traps INT and
    QUIT through CtrlC and CtrlBreak), in both runtimes."""
    for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def start_service(directory: Path, *extra: str, env: dict[str, str] | None = None) -> Service:
    """Run ``python -m hcsaio.emulator serve`` and wait for its ready line."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    socket_path = str(directory / "hcs.sock")
    lifeline_read, lifeline_write = os.pipe()
    ready_read, ready_write = os.pipe()
    command = [sys.executable, "-m", "hcsaio.emulator", "serve", "--socket", socket_path]
    command += ["--lifeline-fd", str(lifeline_read), "--ready-fd", str(ready_write), *extra]
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **(env or {}))
    environment.pop("HCSAIO_EMULATOR_SOCKET", None)
    process = subprocess.Popen(
        command,
        pass_fds=(lifeline_read, ready_write),
        env=environment,
        preexec_fn=_like_a_background_job,
    )
    os.close(lifeline_read)
    os.close(ready_write)
    try:
        readable, _, _ = select.select([ready_read], [], [], START_TIMEOUT)
        assert readable and os.read(ready_read, 64) == b"ready\n", "service did not start"
    except BaseException:
        process.kill()  # reap it: a failed start leaves no zombie for later tests
        process.wait()
        os.close(lifeline_write)
        raise
    finally:
        os.close(ready_read)
    return Service(socket_path, process, lifeline_write)


@pytest.fixture(scope="session")
def library() -> abi.Library:
    return abi.Library(_launcher.library_path())


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = start_service(tmp_path / "svc")
    previous = os.environ.get("HCSAIO_EMULATOR_SOCKET")
    os.environ["HCSAIO_EMULATOR_SOCKET"] = svc.socket
    try:
        yield svc
    finally:
        code = svc.stop() if svc.process.poll() is None else None
        if previous is None:
            os.environ.pop("HCSAIO_EMULATOR_SOCKET", None)
        else:
            os.environ["HCSAIO_EMULATOR_SOCKET"] = previous
        assert code in (None, 0), f"service exited with {code}"


@pytest.fixture
def hcs(library: abi.Library, service: Service) -> abi.Library:
    """The library, talking to this test's own service."""
    return library


@pytest.fixture
def sysid() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def is_root() -> bool:
    return os.geteuid() == 0


def service_children(svc: Service) -> list[int]:
    """The service's child processes, but for its watchdog: what a torn-down
    system must not leave behind."""
    from hcsaio.emulator.wire._client import ServiceClient

    with ServiceClient(svc.socket) as client:
        watchdog = client.status()["WatchdogPid"]
    pid = svc.process.pid
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return [child for child in found if child != watchdog]


@pytest.fixture(scope="session")
def base_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root filesystem built from the host, for real (namespace) containers."""
    if not is_root():
        pytest.skip("real containers need root (CI runs as root)")
    from hcsaio.emulator.runtimes._baselayer import make_base_layer

    layer = Path(
        os.environ.get("HCSAIO_TEST_BASE_LAYER") or tmp_path_factory.mktemp("layer") / "base"
    )
    make_base_layer(str(layer))
    return layer


def layered_document(layer: Path, scratch: Path) -> dict[str, object]:
    """A document a root service runs as a real container (namespace mode)."""
    return abi.container_doc(
        Container={
            "Storage": {"Layers": [{"Id": "base", "Path": str(layer)}], "Path": str(scratch)}
        }
    )
