"""hcsaio._stdio_windows on Linux: the Proactor stdio classes over real
pipes, through asyncio's Unix pipe transports (the same Protocol contract
as the Proactor's), and plugged into Process against the emulator.

What Linux cannot show: the Proactor's own pipe transports and
``PipeHandle`` over overlapped HCS handles (windows-latest CI job, live HCS).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest

import hcsaio
from hcsaio import PIPE, STDOUT, _stdio
from hcsaio._stdio import IncompleteReadError, LimitOverrunError, PipeReader, PipeWriter
from hcsaio._stdio_windows import ProactorPipeReader, ProactorPipeWriter

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def read_opener(fd: int) -> Any:
    return os.fdopen(fd, "rb", buffering=0)


def write_opener(fd: int) -> Any:
    return os.fdopen(fd, "wb", buffering=0)


def proactor_reader(fd: int, **kw: Any) -> PipeReader:
    return ProactorPipeReader(fd, pipe_opener=read_opener, **kw)


def posix_reader(fd: int, **kw: Any) -> PipeReader:
    return PipeReader(fd, **kw)


READERS = [
    pytest.param(posix_reader, id="posix"),
    pytest.param(proactor_reader, id="proactor"),
]


@pytest.fixture
def pipes() -> Iterator[Callable[[], tuple[int, int]]]:
    """os.pipe() pairs, closed after the test if the code under test did not."""
    made: list[int] = []

    def make() -> tuple[int, int]:
        r, w = os.pipe()
        made.extend((r, w))
        return r, w

    yield make
    for fd in made:
        with contextlib.suppress(OSError):
            os.close(fd)


def is_closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as exc:
        return exc.errno == errno.EBADF
    return False


def feed(w: int, data: bytes) -> None:
    """Write data from a thread, then close: a process writing its output."""

    def run() -> None:
        view = memoryview(data)
        while view:
            n = os.write(w, view)
            view = view[n:]
        os.close(w)

    threading.Thread(target=run, daemon=True).start()


async def script(reader: PipeReader) -> list[Any]:
    """One sequence of every reading call; the outcome must not depend on the class."""
    out: list[Any] = [await reader.readline(), await reader.readexactly(3)]
    out.append(await reader.readuntil(b"|"))
    with pytest.raises(LimitOverrunError) as overrun:
        await reader.readuntil(b"#")
    out.append(("overrun", overrun.value.consumed > 0))
    out.append(await reader.read(5))
    with pytest.raises(ValueError, match="chunk"):
        await reader.readline()  # a line longer than the limit
    lines = [line async for line in reader]
    out.append(lines)
    with pytest.raises(IncompleteReadError) as incomplete:
        await reader.readexactly(10)
    out.append(("incomplete", incomplete.value.partial))
    out.append((await reader.read(), reader.at_eof()))
    return out


@pytest.mark.parametrize("make_reader", READERS)
async def test_reader_surface_matches_posix(make_reader: Any, pipes: Any) -> None:
    r, w = pipes()
    data = b"first line\nabcdef|" + b"x" * 200 + b"\nshort 1\nshort 2\ntail"
    feed(w, data)
    reader = make_reader(r, limit=100)
    with anyio.fail_after(10):
        got = await script(reader)
    reader.close()
    # The same calls on the POSIX reader (computed independently) give:
    r2, w2 = pipes()
    feed(w2, data)
    expected_reader = PipeReader(r2, limit=100)
    with anyio.fail_after(10):
        expected = await script(expected_reader)
    expected_reader.close()
    assert got == expected
    assert got[0] == b"first line\n"
    assert got[-3] == [b"short 1\n", b"short 2\n", b"tail"]


async def test_large_stream_with_flow_control(pipes: Any) -> None:
    r, w = pipes()
    data = os.urandom(4 * 1024 * 1024)
    feed(w, data)
    reader = proactor_reader(r, limit=1024)  # pauses above 2 KiB buffered
    chunks = []
    with anyio.fail_after(30):
        while chunk := await reader.read(4096):
            chunks.append(chunk)
            await asyncio.sleep(0)  # let the transport refill between reads
    assert b"".join(chunks) == data
    assert reader.at_eof()
    reader.close()


async def test_merged_sources_end_when_both_end(pipes: Any) -> None:
    r1, w1 = pipes()
    r2, w2 = pipes()
    reader = proactor_reader(r1)
    reader.add_source(r2)
    os.write(w1, b"out 1\n")
    os.write(w2, b"err 1\n")
    os.close(w1)
    with anyio.fail_after(10):
        first = [await reader.readline(), await reader.readline()]
    await asyncio.sleep(0.05)
    assert not reader.at_eof(), "EOF before the second source ended"
    os.write(w2, b"err 2\n")
    os.close(w2)
    with anyio.fail_after(10):
        rest = await reader.read()
    assert sorted(first) == [b"err 1\n", b"out 1\n"]
    assert rest == b"err 2\n"
    assert reader.at_eof()
    reader.close()
    assert is_closed(r1)
    assert is_closed(r2)


async def test_close_keeps_buffered_data_then_refuses(pipes: Any) -> None:
    r, w = pipes()
    reader = proactor_reader(r)
    os.write(w, b"kept\n")
    with anyio.fail_after(10):
        assert await reader.readexactly(2) == b"ke"
    reader.close()
    assert await reader.read(10) == b"pt\n"
    with pytest.raises(anyio.ClosedResourceError):
        await reader.read(10)
    await asyncio.sleep(0.05)
    assert is_closed(r)


async def test_closing_before_connecting_closes_the_handle(pipes: Any) -> None:
    r, w = pipes()
    reader = proactor_reader(r)
    reader.close()  # the connect task has not run yet
    await asyncio.sleep(0.05)
    assert is_closed(r)
    with pytest.raises(BrokenPipeError):
        os.write(w, b"x")


async def test_writer_before_and_after_connecting(pipes: Any) -> None:
    r, w = pipes()
    writer = ProactorPipeWriter(w, pipe_opener=write_opener, high_water=1024)
    writer.write(b"queued before the transport exists\n")  # the connect task has not run
    payload = os.urandom(1024 * 1024)
    received = bytearray()

    def drain_pipe() -> None:
        while chunk := os.read(r, 65536):
            received.extend(chunk)

    thread = threading.Thread(target=drain_pipe, daemon=True)
    thread.start()
    with anyio.fail_after(30):
        for i in range(0, len(payload), 65536):
            writer.write(payload[i : i + 65536])
            await writer.drain()
        writer.write_eof()
        assert writer.is_closing()
        await writer.wait_closed()
    thread.join(10)
    assert bytes(received) == b"queued before the transport exists\n" + payload
    with pytest.raises(anyio.ClosedResourceError):
        writer.write(b"late")


async def test_writer_reports_a_reader_that_went_away(pipes: Any) -> None:
    r, w = pipes()
    writer = ProactorPipeWriter(w, pipe_opener=write_opener, high_water=1024)
    writer.write(b"read by nobody")
    await asyncio.sleep(0.05)  # connected and written
    os.close(r)  # the process exits without reading
    with anyio.fail_after(10), pytest.raises(BrokenPipeError):  # noqa: PT012
        while True:
            writer.write(b"z" * 65536)
            await writer.drain()
    writer.close()
    await writer.wait_closed()


async def test_writer_abort_before_connecting_closes_the_handle(pipes: Any) -> None:
    r, w = pipes()
    writer = ProactorPipeWriter(w, pipe_opener=write_opener)
    writer.write(b"dropped")
    writer.abort()
    with anyio.fail_after(10):
        await writer.wait_closed()
    assert is_closed(w)
    assert os.read(r, 100) == b""  # EOF, and the queued data was dropped


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_is_a_named_gap_and_the_handle_is_closed(pipes: Any) -> None:
    r, w = pipes()
    with pytest.raises(NotImplementedError, match="trio"):
        ProactorPipeReader(r, pipe_opener=read_opener)
    with pytest.raises(NotImplementedError, match="trio"):
        ProactorPipeWriter(w, pipe_opener=write_opener)
    assert is_closed(r)
    assert is_closed(w)


async def test_factory_chooses_by_platform(pipes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    r, w = pipes()
    assert type(_stdio.open_reader(r, name="stdout")) is PipeReader
    assert type(_stdio.open_writer(w, name="stdin")) is PipeWriter

    made: list[tuple[str, int, str]] = []

    class Recorder:
        def __init__(self, kind: str) -> None:
            self.kind = kind

        def __call__(self, handle: int, *, name: str) -> str:
            made.append((self.kind, handle, name))
            return self.kind

    import hcsaio._stdio_windows as windows

    monkeypatch.setattr(windows, "ProactorPipeReader", Recorder("reader"))
    monkeypatch.setattr(windows, "ProactorPipeWriter", Recorder("writer"))
    monkeypatch.setattr(sys, "platform", "win32")
    reader: object = _stdio.open_reader(1234, name="stderr")
    writer: object = _stdio.open_writer(5678, name="stdin")
    assert (reader, writer) == ("reader", "writer")
    assert made == [("reader", 1234, "stderr"), ("writer", 5678, "stdin")]


# ---- the Proactor classes inside Process, against the emulator ----------------


@pytest.fixture
def proactor_stdio(monkeypatch: pytest.MonkeyPatch) -> None:
    """Process builds its streams with the Windows classes (over fds here)."""
    import hcsaio._process as process_module

    monkeypatch.setattr(
        process_module,
        "open_reader",
        lambda h, *, name: ProactorPipeReader(h, name=name, pipe_opener=read_opener),
    )
    monkeypatch.setattr(
        process_module,
        "open_writer",
        lambda h, *, name: ProactorPipeWriter(h, name=name, pipe_opener=write_opener),
    )


HOST_DOCUMENT = {
    "SchemaVersion": {"Major": 2, "Minor": 1},
    "Owner": "hcsaio-tests",
    "Container": {},
}


@pytest.mark.usefixtures("proactor_stdio")
async def test_process_streams_on_the_proactor_classes() -> None:
    system = await hcsaio.create_compute_system(f"win-stdio-{uuid.uuid4().hex[:8]}", HOST_DOCUMENT)
    try:
        await system.start(timeout=60)
        proc = await system.exec(
            "sh", "-c", "tr a-z A-Z; echo err >&2; exit 7", stdin=PIPE, stdout=PIPE, stderr=PIPE
        )
        assert isinstance(proc.stdout, ProactorPipeReader)
        assert isinstance(proc.stdin, ProactorPipeWriter)
        big = b"abc" * 200_000
        out, err = await proc.communicate(big, timeout=60)
        assert (out, err) == (big.upper(), b"err\n")
        assert await proc.wait(timeout=30) == 7
        await proc.close()

        merged = await system.exec("sh", "-c", "echo out; echo err >&2", stdout=PIPE, stderr=STDOUT)
        out, err = await merged.communicate(timeout=60)
        assert err is None
        assert out is not None
        assert sorted(out.splitlines()) == [b"err", b"out"]
        await merged.close()
    finally:
        with contextlib.suppress(hcsaio.HcsError):
            await system.terminate(timeout=30)
        await system.close()
