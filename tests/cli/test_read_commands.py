"""The read commands: list, inspect, ps, stats, service. Human output is
checked for its shape; ``--json`` output is decoded with the schema structs,
so it must be exactly what HCS documents look like."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from hcsaio.schema import decode, v2

from .cli_helpers import Cli, needs_root


def table(text: str) -> tuple[list[str], list[list[str]]]:
    """Header words and rows split on runs of 2+ spaces (cells may contain one)."""
    lines = text.splitlines()
    split = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return split[0], split[1:]


def test_list_table_and_json(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached("--memory", "64")
    result = cli("list")
    assert result.returncode == 0, result.stderr
    header, rows = table(result.stdout)
    assert header == ["ID", "STATE", "OWNER", "TYPE", "UPTIME", "PROCESSES", "MEMORY"]
    row = next(r for r in rows if r[0] == name)
    assert row[1:4] == ["Running", "hcsaio", "Container"]
    assert re.fullmatch(r"\d+s|\d+m\d\ds", row[4]), row
    assert int(row[5]) >= 1
    assert "\x1b[" not in result.stdout  # no colours into a pipe

    listed = decode(cli("list", "--json").stdout, list[v2.Properties])
    mine = next(p for p in listed if p.id == name)
    assert mine.state == "Running" and mine.owner == "hcsaio"
    assert mine.statistics is not None and mine.statistics.uptime100ns > 0
    assert mine.process_list is not None and any(p.image_name == "sleep" for p in mine.process_list)


def test_list_filters_quiet_and_all(
    cli: Cli, detached: Callable[..., str], new_id: Callable[[str], str]
) -> None:
    ours = detached("--owner", "filter-test")
    other = detached()
    quiet = cli("list", "-q", "--filter", "owner=filter-test").stdout.split()
    assert ours in quiet and other not in quiet
    by_id = cli("list", "-q", "-f", f"id={ours}", "-f", f"id={other}").stdout.split()
    assert sorted(by_id) == sorted([ours, other])
    paused = cli("list", "-q", "-f", "state=paused").stdout.split()
    assert ours not in paused
    assert cli("list", "-q", "-f", "state=running").stdout.split().count(ours) == 1
    assert cli("terminate", other).returncode == 0
    assert other not in cli("list", "--all", "-q").stdout.split()  # gone once nobody holds it


def test_list_shows_dashes_for_a_system_without_statistics(
    cli: Cli, detached: Callable[..., str]
) -> None:
    name = detached()
    assert cli("pause", name).returncode == 0
    try:
        rows = table(cli("list", "-f", f"id={name}").stdout)[1]
        assert rows[0][1] == "Paused"
    finally:
        cli("resume", name)


def test_inspect_is_a_properties_document(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached("--memory", "80")
    result = cli("inspect", name)
    assert result.returncode == 0, result.stderr
    props = decode(result.stdout, v2.Properties)
    assert props.id == name and props.state == "Running" and props.system_type == "Container"
    assert props.statistics is not None and props.process_list is not None
    assert props.system_guid
    assert props.memory is not None and props.memory.virtual_machine_memory is not None
    assert props.memory.virtual_machine_memory.assigned_memory == 80
    only = decode(cli("inspect", name, "-p", "ProcessList").stdout, v2.Properties)
    assert only.process_list is not None and only.statistics is None


def test_ps_table_and_json(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached()
    header, rows = table(cli("ps", name).stdout)
    assert header == ["PID", "NAME", "STARTED", "CPU TIME", "PRIVATE", "SHARED", "COMMIT"]
    assert "sleep" in [r[1] for r in rows]
    processes = decode(cli("ps", name, "--json").stdout, list[v2.ProcessDetails])
    assert [p.process_id for p in processes] == sorted(p.process_id for p in processes)
    assert any(p.image_name == "sleep" and p.create_timestamp for p in processes)


@needs_root
def test_stats_once_human_and_json(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached("--memory", "64")
    result = cli("stats", "--no-stream", name)
    assert result.returncode == 0, result.stderr
    header, rows = table(result.stdout)
    assert header[:4] == ["ID", "STATE", "CPU %", "MEM USAGE / LIMIT"]
    assert rows[0][0] == name and rows[0][1] == "Running"
    assert re.fullmatch(r"\d+\.\d%", rows[0][2]), rows  # a figure: two samples were taken
    assert rows[0][3].endswith("/ 64.0 MiB")
    lines = cli("stats", "--no-stream", "--json", name).stdout.splitlines()
    assert len(lines) == 1
    props = decode(lines[0], v2.Properties)
    assert props.statistics is not None and props.statistics.memory is not None
    assert props.statistics.memory.memory_usage_private_working_set_bytes > 0


def test_stats_streams_until_every_system_stopped(
    cli: Cli, detached: Callable[..., str], env: dict[str, str], tmp_path: Path
) -> None:
    name = detached()
    stream = subprocess.Popen(
        [sys.executable, "-m", "hcsaio", "stats", "--json", "--interval", "0.2", name],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert stream.stdout is not None
        first = decode(stream.stdout.readline(), v2.Properties)
        assert first.id == name and first.state == "Running"
        assert cli("terminate", name).returncode == 0
        rest, _ = stream.communicate(timeout=30)
    finally:
        if stream.poll() is None:
            stream.kill()
            stream.wait()
    assert stream.returncode == 0
    samples = [decode(line, v2.Properties) for line in rest.splitlines()]
    assert samples[-1].state == "Stopped"
    assert all(s.state in ("Running", "Stopped") for s in samples)


def test_service_human_and_json(cli: Cli) -> None:
    result = cli("service")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Backend ")
    assert "emulator" in result.stdout
    assert re.search(r"Supported schema versions\s+2\.0, 2\.1", result.stdout)
    props = decode(cli("service", "--json").stdout, v2.ServiceProperties)
    assert props.properties and "SupportedSchemaVersions" in props.properties[0]
    topology = cli("service", "-p", "Basic", "-p", "ProcessorTopology").stdout
    assert re.search(r"Logical processors\s+\d+", topology)
    unsupported = cli("service", "-p", "NoSuchProperty")
    assert unsupported.returncode == 125
    assert re.match(
        r"hcsaio: \w+ 0x[0-9A-F]{8}: .*\(HcsGetServiceProperties\)$", unsupported.stderr
    )


def test_json_output_is_plain_json_on_one_document(cli: Cli) -> None:
    text = cli("list", "--json", "--all").stdout
    assert isinstance(json.loads(text), list)


def test_a_reader_that_leaves_early_is_no_error(
    detached: Callable[..., str], env: dict[str, str], tmp_path: Path
) -> None:
    name = detached()
    stream = subprocess.Popen(
        [sys.executable, "-m", "hcsaio", "stats", "--json", "--interval", "0.05", name],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert stream.stdout is not None and stream.stderr is not None
    assert stream.stdout.readline()  # like `| head -1`
    stream.stdout.close()
    assert stream.wait(timeout=30) == 141  # a shell's SIGPIPE status, quietly
    assert stream.stderr.read() == b""
