"""``hcsaio run`` and ``hcsaio exec`` without a terminal: stdio, exit codes,
options that shape the container, --rm, -d."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from hcsaio.schema import decode, v2

from .cli_helpers import SOCKET_ENV, Cli, needs_root


def listed_ids(cli: Cli) -> list[str]:
    result = cli("list", "--all", "--quiet")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_stdout_stderr_and_exit_code_pass_through(cli: Cli) -> None:
    result = cli("run", "--rm", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


def test_stdin_with_i_and_eof(cli: Cli) -> None:
    data = "".join(f"line {i}\n" for i in range(2000))
    result = cli(
        "run", "--rm", "-i", "--", "sh", "-c", "wc -l; cat >/dev/null; echo done", input=data
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2000", "done"]


def test_without_i_stdin_is_not_connected(cli: Cli) -> None:
    result = cli("run", "--rm", "--", "sh", "-c", "cat; echo eof", input="ignored\n")
    assert result.returncode == 0
    assert result.stdout == "eof\n"


def test_env_workdir_and_user(cli: Cli, env: dict[str, str]) -> None:
    result = cli(
        "run", "--rm", "-e", "GREETING=hi there", "-e", "FROM_HOST", "-w", "/tmp", "-u", "nobody",
        "--", "sh", "-c", 'echo "$GREETING|$FROM_HOST|$(pwd)|$(id -u)"',
        env={**env, "FROM_HOST": "inherited"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi there|inherited|/tmp|65534\n"


@needs_root
def test_container_options_reach_the_document(
    cli: Cli, new_id: Callable[[str], str], tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "note.txt").write_text("from the host\n")
    name = new_id("opts")
    result = cli(
        "run", "--name", name, "--hostname", "box", "--memory", "96", "--cpus", "1",
        "--mount", f"{shared}:/data:ro", "--owner", "cli-test",
        "--", "sh", "-c", "hostname; cat /data/note.txt; touch /data/x 2>/dev/null || echo ro",
    )  # fmt: skip
    try:
        assert result.returncode == 0, result.stderr
        assert result.stdout == "box\nfrom the host\nro\n"
        props = decode(cli("inspect", name).stdout, v2.Properties)
        assert props.owner == "cli-test"
        assert props.memory is not None and props.memory.virtual_machine_memory is not None
        assert props.memory.virtual_machine_memory.assigned_memory == 96
    finally:
        cli("terminate", name)


def scratch_of(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where run keeps the scratch it makes for ``name`` (see hcsaio._cli._scratch)."""
    from hcsaio._cli import _scratch

    monkeypatch.setenv(SOCKET_ENV, env[SOCKET_ENV])
    root = _scratch.scratch_root()
    assert root is not None
    return root / name


@needs_root
def test_rm_removes_the_container_and_its_scratch(
    cli: Cli, new_id: Callable[[str], str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = new_id("rm")
    scratch = scratch_of(name, env, monkeypatch)
    result = cli("run", "--rm", "--name", name, "--", "sh", "-c", "echo data > /written; true")
    assert result.returncode == 0, result.stderr
    assert name not in listed_ids(cli)
    assert not scratch.exists()


@needs_root
def test_stopping_a_kept_container_removes_its_scratch(
    cli: Cli, new_id: Callable[[str], str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for stop in (["terminate"], ["shutdown"], ["kill"]):
        name = new_id("kept")
        scratch = scratch_of(name, env, monkeypatch)
        assert cli("run", "-d", "--name", name, "--", "sleep", "600").returncode == 0
        written = cli("exec", name, "--", "sh", "-c", "echo data > /written")
        assert written.returncode == 0
        assert [p.name for p in scratch.iterdir()] != []  # the container's writable layer
        assert cli(*stop, name).returncode == 0
        assert not scratch.exists(), stop


def test_without_rm_the_container_keeps_running(cli: Cli, new_id: Callable[[str], str]) -> None:
    name = new_id("keep")
    assert cli("run", "--name", name, "--", "true").returncode == 0
    try:
        props = decode(cli("list", "--json", "--filter", f"id={name}").stdout, list[v2.Properties])
        assert [p.state for p in props] == ["Running"]
        second = cli("exec", name, "--", "sh", "-c", "echo again")
        assert (second.returncode, second.stdout) == (0, "again\n")
    finally:
        assert cli("terminate", name).returncode == 0
    assert name not in listed_ids(cli)


def test_detach_prints_the_id_and_exec_d_the_pid(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached()
    result = cli("exec", "-d", name, "--", "sleep", "30")
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout)
    processes = decode(cli("ps", name, "--json").stdout, list[v2.ProcessDetails])
    assert pid in [p.process_id for p in processes]


def test_command_not_found_is_127(cli: Cli) -> None:
    result = cli("run", "--rm", "--", "no-such-program-here")
    assert result.returncode == 127
    assert result.stderr.startswith("hcsaio: FileNotFound 0x80070002:")
    assert "no-such-program-here" in result.stderr


def test_timeout_kills_the_command(cli: Cli) -> None:
    result = cli("run", "--rm", "--timeout", "0.5", "--", "sleep", "30")
    assert result.returncode == 124
    assert "timed out after 0.5s" in result.stderr


def test_large_output_is_complete(cli: Cli) -> None:
    result = cli("run", "--rm", "--", "sh", "-c", "seq 1 200000")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "200000"
    assert len(result.stdout.splitlines()) == 200000


def test_host_mode_runs_on_the_host(cli: Cli) -> None:
    result = cli("run", "--rm", "--host", "--", "hostname")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == socket.gethostname()


def test_a_private_service_cannot_keep_a_detached_container(cli: Cli, tmp_path: Path) -> None:
    from .cli_helpers import cli_env

    result = cli("run", "-d", "--", "sleep", "1", env=cli_env(None, tmp_path))
    assert result.returncode == 125
    assert "hcsaio emulator serve" in result.stderr


def test_json_list_of_a_run_container(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached("--memory", "64")
    props = json.loads(cli("list", "--json", "--filter", f"id={name}").stdout)
    assert [p["Id"] for p in props] == [name]
