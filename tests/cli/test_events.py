"""``hcsaio events``: one line per HCS event, for one system or all."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hcsaio.schema import convert, v2

from .cli_helpers import SOCKET_ENV, Cli, service_clients, wait_until_connected


@pytest.fixture
def watch(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    watchers: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "hcsaio", "events", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        watchers.append(process)
        return process

    yield start
    for process in watchers:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_events_of_one_system_end_with_its_exit(
    cli: Cli,
    detached: Callable[..., str],
    watch: Callable[..., subprocess.Popen[str]],
    env: dict[str, str],
) -> None:
    name = detached()
    baseline = service_clients(env[SOCKET_ENV])
    watcher = watch(name)
    # The watcher must hold the system before it stops (a stopped system
    # nobody holds is gone, and HCS tells no one of its past).
    wait_until_connected(env[SOCKET_ENV], baseline)
    assert cli("shutdown", name).returncode == 0
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 1, out
    stamp, system, event, details = lines[0].split("  ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", stamp)
    assert (system, event) == (name, "SystemExited")
    assert details in ("exit_type=GracefulExit status=0x00000000",)


def test_all_systems_json_one_object_per_line(
    cli: Cli,
    new_id: Callable[[str], str],
    watch: Callable[..., subprocess.Popen[str]],
    env: dict[str, str],
) -> None:
    names = [new_id("ev"), new_id("ev")]
    assert cli("run", "-d", "--name", names[0], "--", "sleep", "600").returncode == 0
    baseline = service_clients(env[SOCKET_ENV])
    watcher = watch("--json", "--interval", "0.1")
    wait_until_connected(env[SOCKET_ENV], baseline)  # it has seen the first ...
    assert cli("run", "-d", "--name", names[1], "--", "sleep", "600").returncode == 0
    time.sleep(0.5)  # ... and finds the second in one of its next enumerations
    assert cli("terminate", *names).returncode == 0
    records = []
    assert watcher.stdout is not None
    while len([r for r in records if r["Id"] in names]) < len(names):
        line = watcher.stdout.readline()
        assert line, watcher.stderr.read() if watcher.stderr else ""
        records.append(json.loads(line))
    watcher.terminate()  # Ctrl-C's cousin: a shell's 143
    watcher.communicate(timeout=30)
    assert watcher.returncode == 143
    mine = [r for r in records if r["Id"] in names]
    assert sorted(r["Id"] for r in mine) == sorted(names)
    for record in mine:
        assert set(record) == {"Time", "Id", "Event", "Type", "Data"}
        assert (record["Event"], record["Type"]) == ("SystemExited", 1)
        status = convert(record["Data"], v2.SystemExitStatus)
        assert status.exit_type == "ForcedExit"


def test_events_of_an_unknown_system(cli: Cli) -> None:
    result = cli("events", "no-such-system")
    assert result.returncode == 125
    assert "SystemNotFound 0x8037010E" in result.stderr
