"""``hcsaio emulator ...`` and the well-known socket: a person at a terminal
runs ``hcsaio emulator serve`` once, and every other command finds it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cli_helpers import cli_env, is_root, needs_root, run_cli, short_tmp, stop_service


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR: the well-known socket lives under it."""
    directory = short_tmp("hcsaio-xdg-")
    directory.chmod(0o700)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def scratch_tree(socket: Path) -> Path:
    from hcsaio._cli import _scratch

    root = _scratch.scratch_root(socket=str(socket))
    assert root is not None
    return root


def wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.05)


def test_serve_without_socket_is_found_by_the_other_commands(
    runtime_dir: Path, tmp_path: Path
) -> None:
    env = cli_env(None, runtime_dir)  # no HCSAIO_EMULATOR_SOCKET
    serve = subprocess.Popen(
        [sys.executable, "-m", "hcsaio", "emulator", "serve"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    socket = runtime_dir / "hcsaio" / "emulator.sock"
    try:
        wait_for(socket)
        assert (os.stat(socket.parent).st_mode & 0o777) == 0o700
        started = run_cli(
            "run", "-d", "--name", "found", "--", "sleep", "60", cwd=tmp_path, env=env
        )
        assert started.returncode == 0, started.stderr
        listed = run_cli("list", "-q", cwd=tmp_path, env=env)
        assert listed.stdout.split() == ["found"]
        assert listed.stderr == ""  # no "private service" note
        status = run_cli("emulator", "status", cwd=tmp_path, env=env)
        assert status.returncode == 0 and '"Systems": 1' in status.stdout
        tree = scratch_tree(socket)
        if is_root():
            assert (tree / "found").is_dir()  # the running container's scratch
        stopped = run_cli("emulator", "stop", cwd=tmp_path, env=env)
        assert stopped.returncode == 0
        serve.wait(timeout=60)
        assert not tree.exists()  # the service took its containers along
    finally:
        if serve.poll() is None:
            stop_service(serve)  # type: ignore[arg-type]
    assert serve.stderr is not None
    assert f"serving on {socket}" in serve.stderr.read()
    after = run_cli("emulator", "status", cwd=tmp_path, env=env)
    assert after.returncode == 1 and "not running" in after.stderr


def test_without_a_service_commands_say_they_use_a_private_one(
    runtime_dir: Path, tmp_path: Path
) -> None:
    temporary = short_tmp("hcsaio-tmpdir-")  # TMPDIR: what the commands leave behind
    env = cli_env(None, runtime_dir, TMPDIR=str(temporary))
    listed = run_cli("list", cwd=tmp_path, env=env)
    assert listed.returncode == 0
    assert listed.stdout.split() == [
        "ID",
        "STATE",
        "OWNER",
        "TYPE",
        "UPTIME",
        "PROCESSES",
        "MEMORY",
    ]
    assert "hcsaio emulator serve" in listed.stderr
    ran = run_cli("run", "--name", "private-run", "--", "echo", "private", cwd=tmp_path, env=env)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "private\n", "")
    # Its container could not outlive the private service: nothing is left.
    assert list(temporary.iterdir()) == []
    temporary.rmdir()


def test_a_socket_in_a_directory_open_to_others_is_not_trusted(
    runtime_dir: Path, tmp_path: Path
) -> None:
    from .cli_helpers import start_service

    shared = runtime_dir / "hcsaio"
    process, path = start_service(shared)
    try:
        os.rename(path, shared / "emulator.sock")
        shared.chmod(0o755)
        listed = run_cli("list", cwd=tmp_path, env=cli_env(None, runtime_dir))
        assert "private one" in listed.stderr  # not the planted socket
    finally:
        shared.chmod(0o700)
        stop_service(process)


def test_emulator_help_and_usage_errors(tmp_path: Path) -> None:
    env = cli_env(None, tmp_path)
    shown = run_cli("emulator", "--help", cwd=tmp_path, env=env)
    assert shown.returncode == 0
    assert "make-base-layer" in shown.stdout
    bad = run_cli("emulator", "frobnicate", cwd=tmp_path, env=env)
    assert bad.returncode == 125
    assert "invalid choice" in bad.stderr


@needs_root
def test_the_default_image_is_built_once_into_the_cache(
    service_socket: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    env = cli_env(service_socket, tmp_path, XDG_CACHE_HOME=str(cache))
    layer = cache / "hcsaio" / "base-layer"
    built = run_cli("emulator", "make-base-layer", cwd=tmp_path, env=env, timeout=300)
    assert built.returncode == 0, built.stderr
    assert (layer / ".hcsaio-base-layer").is_file()
    assert (layer / "bin").exists()
    marker = layer / "built-here"
    marker.write_text("this very layer\n")
    ran = run_cli("run", "--rm", "--", "cat", "/built-here", cwd=tmp_path, env=env)
    assert (ran.returncode, ran.stdout) == (0, "this very layer\n"), ran.stderr
