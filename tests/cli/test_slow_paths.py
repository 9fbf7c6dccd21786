"""Waits over a second show progress; an interrupt while the container is
still being set up still removes it. The emulator's fault injection makes
Start take 2 s, on a service of this module's own (faults are service-wide)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcsaio._cli._progress import Progress

from .cli_helpers import (
    cli_env,
    run_cli,
    set_faults,
    short_tmp,
    start_service,
    stop_service,
)


@pytest.fixture(scope="module")
def slow_start() -> Iterator[Path]:
    directory = short_tmp("hcsaio-cli-slow-")
    process, path = start_service(directory)
    try:
        set_faults(str(path), {"Start": 2.0})
        yield path
    finally:
        stop_service(process)
        shutil.rmtree(directory, ignore_errors=True)


def test_progress_is_shown_for_a_slow_start(slow_start: Path, tmp_path: Path) -> None:
    env = cli_env(slow_start, tmp_path)
    result = run_cli("run", "--rm", "--name", "slowpoke", "--", "echo", "hi", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"
    lines = result.stderr.splitlines()
    assert "hcsaio: starting container slowpoke..." in lines
    assert any(
        line.startswith("hcsaio: starting container slowpoke: done after ") for line in lines
    ), lines
    assert not any("creating" in line for line in lines)  # quick steps say nothing


def test_ctrl_c_while_starting_still_removes_the_container(
    slow_start: Path, tmp_path: Path
) -> None:
    env = cli_env(slow_start, tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "hcsaio", "run", "--rm", "--name", "interrupted", "--", "true"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupt once the container exists, i.e. during the slow Start.
    deadline = time.monotonic() + 30
    while "interrupted" not in run_cli("list", "-q", cwd=tmp_path, env=env).stdout.split():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    listed = run_cli("list", "--all", "--quiet", cwd=tmp_path, env=env)
    assert "interrupted" not in listed.stdout.split()
    assert not list(Path(tempfile.gettempdir()).glob("hcsaio-scratch-interrupted-*"))


class _Terminal:
    """A StringIO that says it is a terminal."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_progress_redraws_in_place_on_a_terminal_and_erases_itself() -> None:
    terminal = _Terminal()
    with Progress("waiting for web to stop", terminal):  # type: ignore[arg-type]
        time.sleep(1.35)
    assert "\r\x1b[K| waiting for web to stop... 1s" in terminal.text
    assert terminal.text.count("\r\x1b[K") >= 3  # redrawn, then erased
    assert terminal.text.endswith("\r\x1b[K")


def test_no_progress_for_quick_waits() -> None:
    terminal = _Terminal()
    with Progress("quick", terminal):  # type: ignore[arg-type]
        time.sleep(0.05)
    assert terminal.text == ""
