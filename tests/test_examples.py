"""Every example runs, from a neutral directory, as a user would run it."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(
    name: str, *args: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_hello(tmp_path: Path) -> None:
    result = run_example("hello.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hello from" in result.stdout
    assert "Linux" in result.stdout


def test_hello_passes_the_exit_code_through(tmp_path: Path) -> None:
    result = run_example("hello.py", "sh", "-c", "echo out; exit 3", cwd=tmp_path)
    assert result.returncode == 3
    assert result.stdout == "out\n"


def test_hello_trio(tmp_path: Path) -> None:
    result = run_example("hello_trio.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from trio\n"


def test_parallel(tmp_path: Path) -> None:
    result = run_example("parallel.py", "50", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "{'ok': 40, 'timeout': 10}" in result.stdout


def test_supervisor_restarts_exited_containers(tmp_path: Path) -> None:
    result = run_example(
        "supervisor.py", "--containers", "2", "--chaos", "0.5", "--restarts", "3", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("restarting") >= 3
    assert "supervisor: done" in result.stdout


def test_shell_through_a_real_pty(tmp_path: Path) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # child: the example, attached to the pty
        os.chdir(tmp_path)
        os.execv(sys.executable, [sys.executable, str(EXAMPLES / "shell.py")])
    output = b""

    def read_until(marker: bytes, timeout: float = 60) -> None:
        nonlocal output
        deadline = time.monotonic() + timeout
        while marker not in output:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {marker!r}; got {output[-500:]!r}"
            if select.select([fd], [], [], left)[0]:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    break

    read_until(b"container$ ")
    os.write(fd, b"echo $((6*7))\r")
    read_until(b"42")
    os.write(fd, b"exit 5\r")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 5
