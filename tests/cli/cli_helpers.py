"""Helpers shared by the command-line tests (imported with relative imports,
as tests/emulator does for its helpers)."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SOCKET_ENV = "HCSAIO_EMULATOR_SOCKET"
CALL_TIMEOUT = 60.0

Cli = Callable[..., subprocess.CompletedProcess[str]]


def is_root() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0


needs_root = pytest.mark.skipif(not is_root(), reason="real containers need root")


def short_tmp(prefix: str) -> Path:
    """A directory short enough for a Unix socket path (pytest's are deep)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def wait_for_socket(path: Path, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator service exited with {process.returncode}")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
            return
        except OSError:
            time.sleep(0.05)
        finally:
            probe.close()
    raise RuntimeError(f"no emulator service on {path} after {timeout} s")


def start_service(directory: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    """``python -m hcsaio.emulator serve`` on ``directory/hcs.sock``."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = directory / "hcs.sock"
    process = subprocess.Popen(
        [sys.executable, "-m", "hcsaio.emulator", "serve", "--socket", str(path), *extra],
        cwd=directory,
        stdin=subprocess.DEVNULL,
    )
    wait_for_socket(path, process)
    return process, path


def stop_service(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cli_env(socket_path: Path | None, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI call: the shared service, and no trace of
    the well-known socket of whoever runs the tests."""
    env = dict(os.environ)
    env.pop(SOCKET_ENV, None)
    env.pop("HCSAIO_LIBRARY", None)
    env.pop("NO_COLOR", None)
    env["XDG_RUNTIME_DIR"] = str(home)
    if socket_path is not None:
        env[SOCKET_ENV] = str(socket_path)
    env.update(extra)
    return env


def run_cli(
    *args: str,
    cwd: Path,
    env: dict[str, str],
    input: str | None = None,
    timeout: float = CALL_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hcsaio", *args],
        cwd=cwd,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class PtySession:
    """``python -m hcsaio ...`` on a real pseudo-terminal, as at a terminal:
    it is the session leader and the foreground job of the pty, so keys
    such as Ctrl-C are interpreted by the pty's line discipline."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        import pty

        self.output = b""
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes hcsaio
            try:
                os.chdir(cwd)
                os.execve(sys.executable, [sys.executable, "-m", "hcsaio", *args], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.set_size(24, 80)
        self.status: int | None = None

    def set_size(self, rows: int, columns: int) -> None:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def resize(self, rows: int, columns: int) -> None:
        """What a terminal emulator does when its window changes size."""
        self.set_size(rows, columns)
        os.kill(self.pid, signal.SIGWINCH)

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def read_until(self, token: bytes, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while token not in self.output:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            readable, _, _ = select.select([self.fd], [], [], min(remaining, 0.1))
            if readable:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    return token in self.output
                if not data:
                    return token in self.output
                self.output += data
        return True

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read_until(b"\0never\0", timeout=0.1)  # keep draining the pty
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
        raise TimeoutError(f"hcsaio did not exit; output so far: {self.output!r}")

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        os.close(self.fd)


def service_clients(socket_path: str) -> int:
    """How many clients the emulator service has (this question included)."""
    from hcsaio.emulator.wire._client import ServiceClient

    with ServiceClient(socket_path) as client:
        return int(client.status()["Clients"])


def wait_until_connected(socket_path: str, baseline: int, timeout: float = 20.0) -> None:
    """Until one more client than ``baseline`` is connected (a CLI process
    that has loaded the library), then a moment for its first calls."""
    deadline = time.monotonic() + timeout
    while service_clients(socket_path) <= baseline:
        if time.monotonic() > deadline:
            raise TimeoutError("the CLI process never connected to the service")
        time.sleep(0.05)
    time.sleep(0.5)


def set_faults(socket_path: str, delays: dict[str, float]) -> None:
    """Make the emulator service wait before the named operations (its
    fault injection, set through HcsModifyServiceSettings)."""
    import json

    code = (
        "import asyncio, sys\n"
        "from hcsaio.compute._service import modify_service_settings_raw\n"
        "asyncio.run(modify_service_settings_raw(sys.argv[1]))\n"
    )
    settings = json.dumps({"PropertyType": "EmulatorFaults", "Settings": {"Delays": delays}})
    env = {**os.environ, SOCKET_ENV: socket_path}
    subprocess.run([sys.executable, "-c", code, settings], env=env, cwd="/", check=True, timeout=60)
