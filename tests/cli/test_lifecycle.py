"""pause, resume, shutdown, terminate and kill."""

from __future__ import annotations

from collections.abc import Callable

from hcsaio.schema import decode, v2

from .cli_helpers import Cli


def state(cli: Cli, name: str) -> str:
    listed = decode(cli("list", "--all", "--json", "-f", f"id={name}").stdout, list[v2.Properties])
    return listed[0].state if listed else "gone"


def test_pause_and_resume(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached()
    result = cli("pause", name)
    assert (result.returncode, result.stdout) == (0, f"{name}\n")
    assert state(cli, name) == "Paused"
    again = cli("pause", name)
    assert again.returncode == 125
    assert again.stderr.startswith("hcsaio: InvalidState 0x80370105:")
    assert cli("resume", name).returncode == 0
    assert state(cli, name) == "Running"


def test_shutdown_and_terminate_several_at_once(cli: Cli, detached: Callable[..., str]) -> None:
    first, second, third = detached(), detached(), detached()
    result = cli("shutdown", first, second, "--timeout", "30")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted([first, second])
    assert result.stderr == ""  # quick: no progress shown
    assert state(cli, first) == state(cli, second) == "gone"
    mixed = cli("terminate", "no-such-system", third)
    assert mixed.returncode == 125
    assert mixed.stdout == f"{third}\n"  # one failure does not stop the others
    assert "SystemNotFound 0x8037010E" in mixed.stderr
    assert state(cli, third) == "gone"


def test_kill_without_pid_terminates_the_system(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached()
    result = cli("kill", name)
    assert (result.returncode, result.stdout) == (0, f"{name}\n")
    assert state(cli, name) == "gone"


def test_kill_a_process_with_signals(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached()
    trapping = int(
        cli(
            "exec", "-d", name, "--", "sh", "-c",
            'trap "echo usr1 > /tmp/usr1" USR1; while :; do sleep 0.1; done',
        ).stdout
    )  # fmt: skip
    killable = int(cli("exec", "-d", name, "--", "sleep", "300").stdout)
    # A signal given by name after the PID (argparse needs help for that order).
    result = cli("kill", name, str(trapping), "--signal", "SIGUSR1")
    assert (result.returncode, result.stdout) == (0, f"{trapping}\n"), result.stderr
    seen = cli("exec", name, "--", "sh", "-c", "sleep 0.3; cat /tmp/usr1")
    assert seen.stdout == "usr1\n"
    pids = [p.process_id for p in decode(cli("ps", name, "--json").stdout, list[v2.ProcessDetails])]
    assert trapping in pids and killable in pids
    assert cli("kill", "--signal", "TERM", name, str(trapping)).returncode == 0
    assert cli("kill", name, str(killable)).returncode == 0  # default: KILL
    pids = [p.process_id for p in decode(cli("ps", name, "--json").stdout, list[v2.ProcessDetails])]
    assert trapping not in pids and killable not in pids
    gone = cli("kill", name, str(killable))
    assert gone.returncode == 125
    assert gone.stderr.startswith("hcsaio: ProcessNotFound 0x80070490:")


def test_kill_with_a_console_control_signal(cli: Cli, detached: Callable[..., str]) -> None:
    name = detached()
    pid = cli("exec", "-d", name, "--", "sh", "-c", "sleep 300").stdout.strip()
    assert cli("kill", name, pid, "-s", "CtrlShutdown").returncode == 0  # SIGTERM in the emulator
    pids = [p.process_id for p in decode(cli("ps", name, "--json").stdout, list[v2.ProcessDetails])]
    assert int(pid) not in pids
