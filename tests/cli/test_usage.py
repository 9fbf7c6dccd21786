"""Usage errors, help, and the pieces that need no service: signal names,
human numbers, tables, error lines."""

from __future__ import annotations

import datetime
import io

import pytest

from hcsaio import errors
from hcsaio._cli import _errors, _human, _output, _signals
from hcsaio.schema import v2

from .cli_helpers import Cli


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["run", "--bogus", "--", "true"], ["hcsaio run:", "--bogus", "hcsaio run --help"]),
        (["list", "-z"], ["hcsaio list:", "-z"]),
        (["frobnicate"], ["invalid choice", "frobnicate"]),
        ([], ["required", "COMMAND"]),
        (["run", "--memory", "lots", "--", "true"], ["--memory", "not a whole number"]),
        (["shutdown", "x", "--timeout", "-3"], ["--timeout", "positive"]),
        (["run", "--rm"], ["a command is required"]),
        (["run", "-d", "-t", "--", "sh"], ["-d cannot be combined"]),
        (["run", "--layer", "/nonexistent/layer", "--", "true"], ["/nonexistent/layer"]),
        (["run", "--mount", "nocolon", "--", "true"], ["HOST:CONTAINER"]),
        (["kill", "x", "1", "--signal", "NOPE"], ["unknown signal 'NOPE'"]),
        (["kill", "x", "--signal", "TERM"], ["give a PID"]),
        (["list", "--filter", "colour=red"], ["KEY=VALUE"]),
    ],
)
def test_usage_errors_are_one_clear_line_and_status_125(
    cli: Cli, args: list[str], names: list[str]
) -> None:
    result = cli(*args)
    assert result.returncode == 125, result
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr
    for name in names:
        assert name in result.stderr, result.stderr
    assert first.startswith("hcsaio"), first


def test_help_and_version_exit_zero(cli: Cli) -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in ("run", "exec", "list", "inspect", "stats", "events", "kill", "emulator"):
        assert command in result.stdout
    version = cli("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("hcsaio ")
    run_help = cli("run", "--help")
    assert run_help.returncode == 0
    assert "--rm" in run_help.stdout and "``" not in run_help.stdout


def test_unknown_id_names_the_hcs_error_class_and_hresult(cli: Cli) -> None:
    for command in (["inspect"], ["ps"], ["pause"], ["exec"], ["kill"], ["stats", "--no-stream"]):
        args = [*command, "no-such-system"]
        if command == ["exec"]:
            args += ["--", "true"]
        result = cli(*args)
        assert result.returncode == 125, (command, result)
        assert result.stderr.splitlines() == [
            "hcsaio: SystemNotFound 0x8037010E: No compute system with that id exists. "
            "(HcsOpenComputeSystem 'no-such-system')"
        ], command


def test_debug_adds_a_traceback(cli: Cli) -> None:
    result = cli("--debug", "inspect", "no-such-system")
    assert result.returncode == 125
    assert "SystemNotFound 0x8037010E" in result.stderr.splitlines()[0]
    assert "Traceback (most recent call last)" in result.stderr
    after = cli("inspect", "no-such-system", "--debug")  # after the subcommand too
    assert "Traceback" in after.stderr


def test_error_report_shows_error_events_with_debug() -> None:
    error = errors.error_from_hresult(
        0x80370105,
        "HcsPauseComputeSystem",
        id="web",
        message="The compute system is Created.",
        error_events=[v2.ErrorEvent(message="not running", provider="emulator")],
    )
    quiet, loud = io.StringIO(), io.StringIO()
    assert _errors.report(error, quiet, prog="hcsaio", debug=False) == 125
    assert quiet.getvalue() == (
        "hcsaio: InvalidState 0x80370105: The compute system is Created. "
        "(HcsPauseComputeSystem 'web')\n"
    )
    _errors.report(error, loud, prog="hcsaio", debug=True)
    assert "  error event [emulator] not running" in loud.getvalue()


def test_exception_groups_report_their_hcs_error() -> None:
    inner = errors.error_from_hresult(0x8037010E, "HcsOpenComputeSystem", id="x")
    group = ExceptionGroup("tasks", [ValueError("other"), ExceptionGroup("inner", [inner])])
    assert _errors.leaf_error(group) is inner


def test_create_process_failures_map_to_docker_statuses() -> None:
    not_found = errors.error_from_hresult(0x80070002, "HcsCreateProcess", id="x")
    denied = errors.error_from_hresult(0x80070005, "HcsCreateProcess", id="x")
    elsewhere = errors.error_from_hresult(0x80070002, "HcsCreateComputeSystem", id="x")
    assert _errors.status_for(not_found) == 127
    assert _errors.status_for(denied) == 126
    assert _errors.status_for(elsewhere) == 125


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("9", 9),
        ("KILL", 9),
        ("SIGTERM", 15),
        ("term", 15),
        ("usr1", 10),
        ("CtrlC", "CtrlC"),
        ("ctrl-break", "CtrlBreak"),
        ("CTRL_SHUTDOWN", "CtrlShutdown"),
        ("64", 64),
    ],
)
def test_signal_names(spec: str, expected: int | str) -> None:
    assert _signals.parse_signal(spec) == expected


@pytest.mark.parametrize("spec", ["0", "65", "SIGNOPE", "Ctrl", ""])
def test_bad_signal_names(spec: str) -> None:
    with pytest.raises(ValueError, match="signal"):
        _signals.parse_signal(spec)


def test_human_sizes_and_durations() -> None:
    assert _human.size(0) == "0 B"
    assert _human.size(1023) == "1023 B"
    assert _human.size(1536) == "1.5 KiB"
    assert _human.size(512 * 1024 * 1024) == "512 MiB"
    assert _human.size(3 * 1024**4) == "3.0 TiB"
    assert _human.duration(0.4) == "0s"
    assert _human.duration(42) == "42s"
    assert _human.duration(192) == "3m12s"
    assert _human.duration(2 * 3600 + 5 * 60) == "2h05m"
    assert _human.duration(3 * 86400 + 4 * 3600) == "3d04h"
    assert _human.cpu_time(0.125) == "0.12s"
    assert _human.percent(1, 4) == "25.0%"
    assert _human.percent(1, 0) == "-"
    now = datetime.datetime(2024, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
    assert _human.age(now - datetime.timedelta(seconds=75), now) == "1m15s"
    assert _human.age(None, now) == "-"


def test_tables_align_and_colour_only_when_asked() -> None:
    columns = [_output.Column("ID"), _output.Column("N", ">"), _output.Column("STATE")]
    rows = [["a", "1", _output.Cell("Running", "green")], ["long-id", "100", "Stopped"]]
    plain = _output.Output(color="never", stdout=io.StringIO(), stderr=io.StringIO())
    assert plain.render_table(columns, rows) == [
        "ID         N  STATE",
        "a          1  Running",
        "long-id  100  Stopped",
    ]
    coloured = _output.Output(color="always", stdout=io.StringIO(), stderr=io.StringIO())
    lines = coloured.render_table(columns, rows)
    assert "\x1b[32mRunning\x1b[0m" in lines[1]
    assert _output.Output(color="auto", stdout=io.StringIO()).color is False  # not a terminal


def test_json_uses_wire_names() -> None:
    value = _output.to_json_value([v2.ProcessDetails(process_id=7, user_time100ns=3)])
    assert value == [{"ProcessId": 7, "UserTime100ns": 3}]
