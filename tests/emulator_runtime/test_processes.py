"""Processes honour argv, environment, working directory, user, stdio, the
console, and signals; failures map to the contract's exceptions."""

from __future__ import annotations

import asyncio
import os
import signal
import termios

import pytest

from hcsaio.emulator.runtimes._runtime import ProcessSpec, Stdio
from hcsaio.emulator.runtimes._runtime_ns import NamespaceRuntime

from .conftest import DEFAULT_ENV, MakeRuntime, read_all, run, sh, spawn_piped

pytestmark = [pytest.mark.privileged, pytest.mark.asyncio]


async def test_argv_is_passed_verbatim(container: NamespaceRuntime) -> None:
    args = ["printf", "%s|", "a b", "", 'quote"d', "ünïcode", "$HOME"]
    r = await run(container, args)
    assert r.text == 'a b||quote"d|ünïcode|$HOME|'


async def test_environment_is_exactly_the_given_one(container: NamespaceRuntime) -> None:
    r = await run(container, ["env"], env={"PATH": "/usr/bin:/bin", "ONLY": "this one"})
    assert sorted(r.text.splitlines()) == ["ONLY=this one", "PATH=/usr/bin:/bin"]


async def test_program_is_searched_in_the_given_path(container: NamespaceRuntime) -> None:
    r = await run(container, ["true"], env={"PATH": "/nowhere:/usr/bin"})
    assert r.code == 0
    with pytest.raises(FileNotFoundError):
        await run(container, ["true"], env={"PATH": "/nowhere"})


async def test_without_path_the_default_search_path_applies(container: NamespaceRuntime) -> None:
    r = await run(container, ["sh", "-c", "echo ok"], env={})
    assert r.text == "ok\n"


async def test_working_directory(container: NamespaceRuntime) -> None:
    r = await run(container, ["pwd"], cwd="/usr/lib")
    assert r.text == "/usr/lib\n"
    r = await run(container, ["pwd"])
    assert r.text == "/\n"


async def test_exit_codes_and_signals(container: NamespaceRuntime) -> None:
    assert (await sh(container, "exit 7")).code == 7
    assert (await sh(container, "kill -KILL $$")).code == 128 + signal.SIGKILL
    assert (await sh(container, "kill -TERM $$")).code == 128 + signal.SIGTERM


async def test_users(container: NamespaceRuntime) -> None:
    assert (await run(container, ["id", "-u"])).text == "0\n"
    r = await run(container, ["id"], user="nobody")
    assert r.text.startswith("uid=65534(nobody) gid=65534(")
    r = await sh(container, "id -u; id -g; id -G", user="1234:5678")
    assert r.text.split() == ["1234", "5678", "5678"]
    r = await sh(container, "id -u; id -g", user="nobody:root")
    assert r.text.split() == ["65534", "0"]


async def test_unknown_user_is_a_bad_spec(container: NamespaceRuntime) -> None:
    with pytest.raises(ValueError, match="user"):
        await run(container, ["true"], user="no-such-user")
    with pytest.raises(ValueError, match="user"):
        await run(container, ["true"], user="root:no-such-group")


async def test_missing_program(container: NamespaceRuntime) -> None:
    with pytest.raises(FileNotFoundError):
        await run(container, ["/no/such/program"])
    with pytest.raises(FileNotFoundError):
        await run(container, ["no-such-program"])


async def test_not_executable(container: NamespaceRuntime) -> None:
    with pytest.raises(PermissionError):
        await run(container, ["/etc/passwd"])


async def test_bad_working_directory(container: NamespaceRuntime) -> None:
    with pytest.raises(ValueError, match="working directory"):
        await run(container, ["true"], cwd="/no/such/dir")


async def test_bad_specs_fail_before_the_shim(container: NamespaceRuntime) -> None:
    with pytest.raises(ValueError, match="empty command line"):
        await run(container, [])
    with pytest.raises(ValueError, match="NUL"):
        await run(container, ["echo", "nul\0inside"])
    with pytest.raises(ValueError, match="environment variable name"):
        await run(container, ["true"], env={"A=B": "c"})


async def test_stdin_pipe_and_null(container: NamespaceRuntime) -> None:
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        proc = await container.spawn(
            ProcessSpec(argv=("tr", "a-z", "A-Z"), env=DEFAULT_ENV), Stdio(in_r, out_w, None)
        )
    finally:
        os.close(in_r)
        os.close(out_w)
    os.write(in_w, b"hello container\n")
    os.close(in_w)
    async with asyncio.timeout(30):
        out, code = await asyncio.gather(read_all(out_r), proc.wait())
    assert (out, code) == (b"HELLO CONTAINER\n", 0)
    # without a stdin fd the process reads /dev/null
    r = await run(container, ["cat"])
    assert (r.code, r.out) == (0, b"")


async def test_no_descriptor_of_the_shim_leaks_into_processes(container: NamespaceRuntime) -> None:
    r = await run(container, ["ls", "/proc/self/fd"])
    assert r.text.split() == ["0", "1", "2", "3"]  # 3: the directory ls reads
    init_fds = await run(container, ["ls", "/proc/1/fd"])
    assert len(init_fds.text.split()) <= 6  # /dev/null x2, stderr, its socket, signalfd


async def test_large_output_does_not_deadlock(container: NamespaceRuntime) -> None:
    r = await run(container, ["head", "-c", "5000000", "/dev/zero"])
    assert len(r.out) == 5_000_000


async def test_emulated_console(container: NamespaceRuntime) -> None:
    """The service hands the pty slave; the process gets it as its
    controlling terminal, in its own session, with the console size."""
    master, slave = os.openpty()
    try:
        proc = await container.spawn(
            ProcessSpec(
                argv=(
                    "python3",
                    "-c",
                    "import os; print(os.isatty(0), os.getsid(0) == os.getpid(), "
                    "os.tcgetpgrp(0) == os.getpid(), os.get_terminal_size(0))",
                ),
                env=DEFAULT_ENV,
                tty=True,
                console_size=(33, 120),
            ),
            Stdio(slave, slave, slave),
        )
    finally:
        os.close(slave)
    attrs = termios.tcgetattr(master)
    async with asyncio.timeout(30):
        code = await proc.wait()
        out = await asyncio.to_thread(_drain_pty, master)
    assert code == 0
    assert out.strip() == "True True True os.terminal_size(columns=120, lines=33)"
    assert attrs


def _drain_pty(master: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every slave fd is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return b"".join(chunks).decode()


async def test_signals_reach_the_process(container: NamespaceRuntime) -> None:
    proc, out_r, err_r = await spawn_piped(
        container,
        [
            "python3",
            "-c",
            "import os, signal, sys\n"
            "signal.signal(signal.SIGUSR1, lambda *a: (os.write(1, b'usr1\\n'), sys.exit(5)))\n"
            "print('ready', flush=True)\n"
            "signal.pause()\n",
        ],
    )
    loop = asyncio.get_running_loop()
    first = await loop.run_in_executor(None, os.read, out_r, 100)
    assert first == b"ready\n"
    proc.signal(signal.SIGUSR1)
    async with asyncio.timeout(30):
        out, err, code = await asyncio.gather(read_all(out_r), read_all(err_r), proc.wait())
    assert (out, code) == (b"usr1\n", 5), err
    proc.signal(signal.SIGKILL)  # after exit: not an error


async def _images(container: NamespaceRuntime) -> list[str]:
    return [str(p["ImageName"]) for p in await container.process_list()]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
async def test_signals_reach_the_process_group(container: NamespaceRuntime, signum: int) -> None:
    """As in host mode and PROTOCOL.md (CtrlC, TerminateProcess): the whole
    process group, so a shell's foreground child dies with the shell."""
    proc, out_r, err_r = await spawn_piped(container, ["sh", "-c", "sleep 987; echo after"])
    async with asyncio.timeout(30):
        while "sleep" not in await _images(container):
            await asyncio.sleep(0.01)
    proc.signal(signum)
    async with asyncio.timeout(10):
        out, _, code = await asyncio.gather(read_all(out_r), read_all(err_r), proc.wait())
    assert (code, out) == (128 + signum, b"")
    async with asyncio.timeout(10):  # nothing was left behind in the container
        while await _images(container) != ["hcsemu-init"]:
            await asyncio.sleep(0.02)


async def test_processes_start_with_default_dispositions(make_runtime: MakeRuntime) -> None:
    """A container started by a service that ignores SIGINT, SIGQUIT and
    SIGHUP (as a shell's ``nohup ... &`` leaves it) still runs its
    processes with every signal at its default: SIG_IGN survives exec, so
    the shim resets each disposition itself, as container runtimes do."""
    ignored = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in ignored}
    try:
        rt = await make_runtime()  # the shim inherits the ignored signals
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    r = await run(rt, ["grep", "^Sig[IB][gl][nk]:", "/proc/self/status"])
    assert r.text.split() == ["SigBlk:", "0" * 16, "SigIgn:", "0" * 16], r.text


async def test_console_from_the_container(container: NamespaceRuntime) -> None:
    """A console the runtime opens lives in the container's own devpts: the
    process finds its terminal under its /dev/pts (ttyname works)."""
    master, slave = await container.open_console()
    try:
        proc = await container.spawn(
            ProcessSpec(
                argv=("sh", "-c", "tty; stty size; ls /dev/pts"),
                env=DEFAULT_ENV,
                tty=True,
                console_size=(33, 120),
            ),
            Stdio(slave, slave, slave),
        )
    finally:
        os.close(slave)
    async with asyncio.timeout(30):
        code = await proc.wait()
        out = await asyncio.to_thread(_drain_pty, master)
    lines = out.split()
    assert code == 0, out
    assert lines[0].startswith("/dev/pts/") and lines[1:3] == ["33", "120"], out
    assert lines[0].removeprefix("/dev/pts/") in lines[3:]


async def test_a_console_nobody_waits_for_is_closed(container: NamespaceRuntime) -> None:
    task = asyncio.create_task(container.open_console())
    await asyncio.sleep(0)  # sent, not yet answered
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # answered in order: the cancelled request's pty came back before this one
    for fd in await container.open_console():
        os.close(fd)
    async with asyncio.timeout(10):  # and was closed: no pty is left
        while (await run(container, ["ls", "/dev/pts"])).text.split() != ["ptmx"]:
            await asyncio.sleep(0.05)


async def test_many_processes_at_once(container: NamespaceRuntime) -> None:
    results = await asyncio.gather(*(sh(container, f"echo {i}; exit {i % 7}") for i in range(40)))
    for i, r in enumerate(results):
        assert (r.code, r.text) == (i % 7, f"{i}\n")
    assert len({r.process.pid for r in results}) == 40


async def test_large_command_line_and_environment(container: NamespaceRuntime) -> None:
    big = "x" * 100_000
    r = await run(
        container, ["sh", "-c", "echo ${#BIG} ${#1}", "sh", big], env={**DEFAULT_ENV, "BIG": big}
    )
    assert r.text == "100000 100000\n"


async def test_cancelled_spawn_does_not_leave_a_process(container: NamespaceRuntime) -> None:
    task = asyncio.create_task(
        container.spawn(
            ProcessSpec(argv=("sleep", "1000"), env=DEFAULT_ENV), Stdio(None, None, None)
        )
    )
    await asyncio.sleep(0)  # sent, not yet answered
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the shim answers in order: once this one is answered, the cancelled
    # one's reply has arrived too and its process was killed
    assert (await run(container, ["true"])).code == 0
    async with asyncio.timeout(10):
        while len(await container.process_list()) > 1:
            await asyncio.sleep(0.01)
    assert [p["ProcessId"] for p in await container.process_list()] == [1]


async def test_init_reaps_orphans(container: NamespaceRuntime) -> None:
    r = await sh(container, "sleep 0.2 & echo $!")
    orphan = int(r.text)
    assert r.code == 0
    # the orphan was re-parented to init, which reaps it: no zombie stays
    async with asyncio.timeout(10):
        while True:
            listed = {p["ProcessId"] for p in await container.process_list()}
            if orphan not in listed:
                break
            await asyncio.sleep(0.05)
    assert listed == {1}
