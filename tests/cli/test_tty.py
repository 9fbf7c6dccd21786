"""``-t`` through a real pseudo-terminal: raw mode and echo, the window size
followed on SIGWINCH, Ctrl-C delivered to the process; and Ctrl-C of a
non-tty ``run --rm`` (forwarded once, then a kill, then the cleanup)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .cli_helpers import Cli, PtySession

TRAP_INT = 'trap "echo got INT; exit 3" INT'


@pytest.fixture
def terminal(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., PtySession]]:
    sessions: list[PtySession] = []

    def open_(*args: str) -> PtySession:
        session = PtySession(list(args), cwd=tmp_path, env=env)
        sessions.append(session)
        return session

    yield open_
    for session in sessions:
        session.close()


def test_it_echoes_through_the_container_console(terminal: Callable[..., PtySession]) -> None:
    term = terminal("run", "--rm", "-it", "--", "sh", "-c", 'echo ready; read x; echo "got:$x"')
    assert term.read_until(b"ready"), term.output
    term.send(b"hello\r")
    assert term.read_until(b"got:hello"), term.output
    assert term.wait() == 0
    # Raw mode: the local terminal did not echo (or translate) anything; the
    # one "hello" is the container console's echo, with its own CR LF.
    assert term.output.count(b"hello") == 2  # the echo, and got:hello
    assert b"hello\r\n" in term.output


def test_window_size_is_given_and_follows_resizes(terminal: Callable[..., PtySession]) -> None:
    term = terminal(
        "run", "--rm", "-it", "--", "sh", "-c", "stty size; echo ready; while read x; do stty size; done"
    )  # fmt: skip
    assert term.read_until(b"24 80"), term.output  # the size at start
    assert term.read_until(b"ready"), term.output
    term.resize(40, 100)
    # The resize travels through HCS while keys travel through stdin: ask
    # until the new size is seen inside.
    for _ in range(50):
        term.send(b"\r")
        if term.read_until(b"40 100", timeout=0.2):
            break
    assert b"40 100" in term.output, term.output
    term.send(b"\x04")  # Ctrl-D: end of input for the shell's read
    assert term.wait() == 0


def test_ctrl_c_reaches_the_process_in_raw_mode(terminal: Callable[..., PtySession]) -> None:
    term = terminal(
        "run", "--rm", "-it", "--", "sh", "-c", f"{TRAP_INT}; echo ready; while :; do sleep 0.1; done"
    )  # fmt: skip
    assert term.read_until(b"ready"), term.output
    term.send(b"\x03")
    assert term.read_until(b"got INT"), term.output
    assert term.wait() == 3


def test_ctrl_c_is_forwarded_with_t_alone(terminal: Callable[..., PtySession]) -> None:
    """Without -i the terminal is not raw: Ctrl-C is SIGINT to hcsaio, which
    sends CtrlC to the process."""
    term = terminal(
        "run", "--rm", "-t", "--", "sh", "-c", f"{TRAP_INT}; echo ready; while :; do sleep 0.1; done"
    )  # fmt: skip
    assert term.read_until(b"ready"), term.output
    term.send(b"\x03")
    assert term.read_until(b"got INT"), term.output
    assert term.wait() == 3


def test_exec_it_into_a_running_container(
    terminal: Callable[..., PtySession], detached: Callable[..., str]
) -> None:
    name = detached()
    term = terminal(
        "exec",
        "-it",
        name,
        "--",
        "sh",
        "-c",
        "test -t 0 && test -t 1 && echo on-a-tty; echo ready; read x; exit 5",
    )
    assert term.read_until(b"on-a-tty"), term.output
    assert term.read_until(b"ready"), term.output
    term.send(b"\r")
    assert term.wait() == 5


def test_second_ctrl_c_kills_and_rm_cleans_up(
    cli: Cli, terminal: Callable[..., PtySession], new_id: Callable[[str], str]
) -> None:
    """A non-tty run: the first Ctrl-C goes to the process (a shell waiting
    for sleep ignores it for now), the second kills it; --rm still removes
    the container, and the status is a shell's 130."""
    name = new_id("ctrlc")
    term = terminal("run", "--rm", "--name", name, "--", "sh", "-c", "echo ready; sleep 60")
    assert term.read_until(b"ready"), term.output
    term.send(b"\x03")
    assert term.read_until(b"Ctrl-C again kills it"), term.output
    term.send(b"\x03")
    assert term.wait() == 130
    assert name not in cli("list", "--all", "--quiet").stdout.split()


def test_ctrl_c_exit_code_of_a_process_that_handles_it(
    cli: Cli, terminal: Callable[..., PtySession]
) -> None:
    term = terminal(
        "run", "--rm", "--", "sh", "-c", f"{TRAP_INT}; echo ready; while :; do sleep 0.1; done"
    )
    assert term.read_until(b"ready"), term.output
    term.send(b"\x03")
    assert term.wait() == 3  # known: the process's own code, not 130


def test_stats_redraws_in_place_on_a_terminal_until_ctrl_c(
    terminal: Callable[..., PtySession], detached: Callable[..., str]
) -> None:
    name = detached(command=("sh", "-c", "while :; do :; done"))
    term = terminal("stats", "--interval", "0.3", name)
    deadline = time.monotonic() + 15
    while term.output.count(b"\x1b[H\x1b[J") < 2:  # a third frame: two CPU figures
        assert time.monotonic() < deadline, term.output
        term.read_until(b"\0never\0", timeout=0.1)
    term.send(b"\x03")
    assert term.wait() == 130
    frame = re.sub(rb"\x1b\[[0-9;]*m", b"", term.output.split(b"\x1b[H\x1b[J")[2])
    row = next(line for line in frame.splitlines() if line.startswith(name.encode()))
    cells = re.split(rb"\s{2,}", row.strip())
    assert cells[1] == b"Running"
    assert cells[2].endswith(b"%") and float(cells[2][:-1]) > 10.0, row  # a busy loop shows


def test_colours_only_on_a_terminal(
    terminal: Callable[..., PtySession], detached: Callable[..., str], cli: Cli, env: dict[str, str]
) -> None:
    name = detached()
    term = terminal("list", "-f", f"id={name}")
    assert term.wait() == 0
    assert b"\x1b[32mRunning" in term.output
    assert "\x1b[" not in cli("list", "-f", f"id={name}").stdout
    forced = cli("list", "--color", "always", "-f", f"id={name}").stdout
    assert "\x1b[32mRunning" in forced
    plain = cli("list", "--color", "always", "-f", f"id={name}", env={**env, "NO_COLOR": "1"})
    assert "\x1b[32mRunning" in plain.stdout  # always means always; NO_COLOR governs auto
