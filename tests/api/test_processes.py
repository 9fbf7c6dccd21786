"""Processes: creation forms, exit codes, stdio, signals, consoles."""

from __future__ import annotations

import hashlib
import signal

import anyio
import pytest

import hcsaio
from hcsaio import DEVNULL, PIPE, STDOUT
from hcsaio.errors import ProcessExitError
from hcsaio.schema import v2

pytestmark = pytest.mark.anyio


async def test_create_process_from_struct_dict_and_json(new_system) -> None:
    system = await new_system()
    forms = [
        v2.ProcessParameters(command_args=["sh", "-c", "exit 3"], command_line='sh -c "exit 3"'),
        {"CommandArgs": ["sh", "-c", "exit 4"], "CommandLine": 'sh -c "exit 4"'},
        '{"CommandLine": "sh -c \\"exit 5\\""}',
    ]
    codes = []
    for parameters in forms:
        proc = await system.create_process(parameters)
        codes.append(await proc.wait(timeout=30))
        await proc.close()
    assert codes == [3, 4, 5]


async def test_exec_with_pipes_and_communicate(new_system) -> None:
    system = await new_system()
    proc = await system.exec(
        "sh", "-c", "tr a-z A-Z; echo err >&2; exit 7", stdin=PIPE, stdout=PIPE, stderr=PIPE
    )
    assert proc.returncode is None
    out, err = await proc.communicate(b"hello")
    assert (out, err) == (b"HELLO", b"err\n")
    assert proc.returncode == 7
    assert await proc.wait() == 7
    await proc.close()


async def test_stderr_to_stdout_is_merged(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sh", "-c", "echo out; echo err >&2", stdout=PIPE, stderr=STDOUT)
    out, err = await proc.communicate()
    assert err is None
    assert sorted(out.splitlines()) == [b"err", b"out"]
    await proc.close()


async def test_env_cwd_and_devnull(new_system, tmp_path) -> None:
    system = await new_system()
    result = await system.run(
        "sh",
        "-c",
        'echo "$GREETING"; pwd; cat',
        env={"GREETING": "hi", "PATH": "/usr/bin:/bin"},
        cwd=str(tmp_path),
        stdin=DEVNULL,
        capture_output=True,
    )
    assert result.stdout.splitlines() == [b"hi", str(tmp_path).encode()]
    assert result.returncode == 0


async def test_run_check_raises_with_output(new_system) -> None:
    system = await new_system()
    with pytest.raises(ProcessExitError) as info:
        await system.run("sh", "-c", "echo nope; exit 2", capture_output=True, check=True)
    assert info.value.returncode == 2
    assert info.value.stdout == b"nope\n"


async def test_missing_program_fails_with_file_not_found(new_system) -> None:
    system = await new_system()
    with pytest.raises(hcsaio.errors.FileNotFound) as info:
        await system.exec("definitely-not-a-program-xyz")
    assert "definitely-not-a-program-xyz" in str(info.value)


async def test_stream_reader_surface(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sh", "-c", "printf 'a\\nbb\\nccc'", stdout=PIPE)
    assert await proc.stdout.readline() == b"a\n"
    assert await proc.stdout.readexactly(3) == b"bb\n"
    assert [line async for line in proc.stdout] == [b"ccc"]
    assert proc.stdout.at_eof()
    assert await proc.wait(timeout=30) == 0
    await proc.close()


async def test_output_written_just_before_exit_is_kept_by_wait(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sh", "-c", "echo last words; exit 9", stdout=PIPE)
    assert await proc.wait(timeout=30) == 9
    assert await proc.stdout.read() == b"last words\n"
    await proc.close()


async def test_process_exits_while_output_is_being_read(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sh", "-c", "seq 1 200000; exit 4", stdout=PIPE)
    lines = 0
    async for _ in proc.stdout:
        lines += 1
    assert lines == 200000
    assert await proc.wait(timeout=30) == 4
    await proc.close()


async def test_large_data_both_ways_does_not_deadlock(new_system) -> None:
    system = await new_system()
    data = bytes(range(256)) * (16 * 1024 * 4)  # 16 MiB
    proc = await system.exec("cat", stdin=PIPE, stdout=PIPE)
    out, _ = await proc.communicate(data, timeout=120)
    assert out == data
    await proc.close()


@pytest.mark.slow
async def test_one_gib_through_stdout_intact(new_system) -> None:
    system = await new_system()
    size = 1 << 30
    proc = await system.exec("sh", "-c", f"yes 0123456789abcdef | head -c {size}", stdout=PIPE)
    digest, total = hashlib.sha256(), 0
    while chunk := await proc.stdout.read(1 << 20):
        digest.update(chunk)
        total += len(chunk)
    assert await proc.wait(timeout=120) == 0
    expected = hashlib.sha256((b"0123456789abcdef\n" * (size // 17 + 1))[:size]).hexdigest()
    assert total == size
    assert digest.hexdigest() == expected
    await proc.close()


async def test_kill_terminate_and_signals(new_system) -> None:
    system = await new_system()
    killed = await system.exec("sleep", "1000")
    killed.kill()
    assert await killed.wait(timeout=30) == 128 + signal.SIGKILL
    terminated = await system.exec("sleep", "1000")
    terminated.terminate()
    assert await terminated.wait(timeout=30) == 128 + signal.SIGTERM
    interrupted = await system.exec("sleep", "1000")
    interrupted.send_signal("CtrlC")
    assert await interrupted.wait(timeout=30) == 128 + signal.SIGINT
    numbered = await system.exec("sleep", "1000")
    await numbered.signal(signal.SIGUSR1, timeout=30)
    assert await numbered.wait(timeout=30) == 128 + signal.SIGUSR1
    for p in (killed, terminated, interrupted, numbered):
        p.kill()  # exited already: a no-op, as asyncio
        await p.close()


async def test_bad_signals_fail_before_hcs(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sleep", "1000")
    with pytest.raises(ValueError, match="signal"):
        proc.send_signal("CtrlZ")
    with pytest.raises(ValueError, match="signal"):
        proc.send_signal(0)
    with pytest.raises(TypeError):
        proc.send_signal(True)
    proc.kill()
    await proc.wait(timeout=30)
    await proc.close()


async def test_close_stdin_delivers_eof(new_system) -> None:
    system = await new_system()
    proc = await system.exec("wc", "-c", stdin=PIPE, stdout=PIPE)
    proc.stdin.write(b"12345")
    await proc.close_stdin()
    assert (await proc.stdout.read()).strip() == b"5"
    assert await proc.wait(timeout=30) == 0
    await proc.close()


async def test_tty_console_size_and_resize(new_system) -> None:
    system = await new_system()
    proc = await system.exec(
        "sh",
        "-c",
        "stty size; read line; stty size",
        tty=True,
        stdin=PIPE,
        stdout=PIPE,
        console_size=(24, 80),
    )
    assert (await proc.stdout.readuntil(b"\n")).strip() == b"24 80"
    await proc.resize_console(width=120, height=40)
    proc.stdin.write(b"go\n")
    await proc.stdin.drain()
    rest = b""
    with anyio.fail_after(30):
        while b"40 120" not in rest:
            chunk = await proc.stdout.read(4096)
            if not chunk:
                break
            rest += chunk
    assert b"40 120" in rest
    assert await proc.wait(timeout=30) == 0
    await proc.close()


async def test_open_process_by_pid_and_properties(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sleep", "1000")
    other = await system.open_process(proc.pid)
    status = await other.properties()
    assert status.process_id == proc.pid
    assert not status.exited
    other.kill()
    assert await other.wait(timeout=30) == 128 + signal.SIGKILL
    assert await proc.wait(timeout=30) == 128 + signal.SIGKILL
    await other.close()
    await proc.close()


async def test_open_process_of_exited_pid_fails(new_system) -> None:
    system = await new_system()
    proc = await system.exec("true")
    await proc.wait(timeout=30)
    with pytest.raises(hcsaio.errors.NotFound):
        await system.open_process(proc.pid)
    await proc.close()


async def test_process_events_end_with_process_exited(new_system) -> None:
    system = await new_system()
    proc = await system.exec("sh", "-c", "exit 6")
    events = [e async for e in proc.events()]
    assert isinstance(events[-1], hcsaio.ProcessExited)
    assert events[-1].status.exit_code == 6
    await proc.close()


@pytest.mark.slow
async def test_thousand_processes_concurrently_exact_outputs(new_system) -> None:
    system = await new_system()
    results: dict[int, tuple[bytes, int]] = {}

    async def one(i: int) -> None:
        r = await system.run(
            "sh", "-c", f"echo {i}; exit {i % 7}", capture_output=True, timeout=300
        )
        results[i] = (r.stdout or b"", r.returncode)

    async with anyio.create_task_group() as tg:
        for i in range(1000):
            tg.start_soon(one, i)
    assert results == {i: (f"{i}\n".encode(), i % 7) for i in range(1000)}
