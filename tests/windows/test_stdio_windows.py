"""hcsaio.compute._stdio_windows over real pipes, on both platforms:

* Linux: ``os.pipe()`` through asyncio's Unix pipe transports (the same
  Protocol contract as the Proactor's), and plugged into Process against
  the emulator;
* Windows (the windows-latest CI job): overlapped named pipes from
  ``asyncio.windows_utils.pipe`` - what HCS hands back - through the
  Proactor's own pipe transports and ``PipeHandle``.

The test's end of each pipe (the "process" side) is always a plain fd.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

import hcsaio
from hcsaio import PIPE, STDOUT
from hcsaio.compute import _stdio_open
from hcsaio.compute._stdio import IncompleteReadError, LimitOverrunError, PipeReader, PipeWriter
from hcsaio.compute._stdio_windows import ProactorPipeReader, ProactorPipeWriter

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def read_opener(fd: int) -> Any:
    return os.fdopen(fd, "rb", buffering=0)


def write_opener(fd: int) -> Any:
    return os.fdopen(fd, "wb", buffering=0)


@dataclass
class Pipe:
    """``ours``: the handle (Windows) or fd (POSIX) given to the class under
    test; ``theirs``: an fd for the test, playing the process."""

    ours: int
    theirs: int
    options: dict[str, Any]  # pipe_opener for the POSIX stand-in; none on Windows
    closed: bool = False

    def close_theirs(self) -> None:
        """Close the test's end once (a second os.close could hit a reused fd)."""
        if not self.closed:
            self.closed = True
            os.close(self.theirs)


def _pipe(we_read: bool) -> Pipe:
    if sys.platform == "win32":
        import msvcrt
        from asyncio import windows_utils

        # Overlapped on our side only, like HCS's handles; theirs is used with os.read/write.
        r, w = windows_utils.pipe(overlapped=(we_read, not we_read), duplex=False)
        if we_read:
            return Pipe(r, msvcrt.open_osfhandle(w, 0), {})
        return Pipe(w, msvcrt.open_osfhandle(r, os.O_RDONLY), {})
    else:
        r, w = os.pipe()
        if we_read:
            return Pipe(r, w, {"pipe_opener": read_opener})
        return Pipe(w, r, {"pipe_opener": write_opener})


@pytest.fixture
def pipes() -> Iterator[Callable[..., Pipe]]:
    """Pipes whose test side is closed after the test if still open."""
    made: list[Pipe] = []

    def make(*, we_read: bool = True) -> Pipe:
        made.append(_pipe(we_read))
        return made[-1]

    yield make
    for pipe in made:
        with contextlib.suppress(OSError):
            pipe.close_theirs()


def proactor_reader(pipe: Pipe, **kw: Any) -> PipeReader:
    return ProactorPipeReader(pipe.ours, **pipe.options, **kw)


def posix_reader(pipe: Pipe, **kw: Any) -> PipeReader:
    return PipeReader(pipe.ours, **kw)


READERS = [
    pytest.param(
        posix_reader,
        id="posix",
        marks=pytest.mark.skipif(sys.platform == "win32", reason="POSIX fds only"),
    ),
    pytest.param(proactor_reader, id="proactor"),
]


def reader_went_away(pipe: Pipe) -> bool:
    """True once nobody reads the pipe any more: our end was closed."""
    try:
        os.write(pipe.theirs, b"x")
    except OSError:  # EPIPE; ERROR_NO_DATA on Windows
        return True
    return False


def feed(pipe: Pipe, data: bytes) -> threading.Thread:
    """Write data from a thread, then close: a process writing its output."""

    def run() -> None:
        view = memoryview(data)
        while view:
            n = os.write(pipe.theirs, view)
            view = view[n:]
        pipe.close_theirs()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


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


#: What ``script`` returns for READER_DATA, by asyncio.StreamReader's rules.
READER_DATA = b"first line\nabcdef|" + b"x" * 200 + b"\nshort 1\nshort 2\ntail"
EXPECTED = [
    b"first line\n",
    b"abc",
    b"def|",
    ("overrun", True),
    b"xxxxx",
    [b"short 1\n", b"short 2\n", b"tail"],
    ("incomplete", b""),
    (b"", True),
]


@pytest.mark.parametrize("make_reader", READERS)
async def test_reader_surface(make_reader: Any, pipes: Any) -> None:
    """Both readers (where both exist) give exactly the same results."""
    pipe = pipes()
    feed(pipe, READER_DATA)
    reader = make_reader(pipe, limit=100)
    with anyio.fail_after(10):
        got = await script(reader)
    reader.close()
    assert got == EXPECTED


async def test_large_stream_with_flow_control(pipes: Any) -> None:
    pipe = pipes()
    data = os.urandom(4 * 1024 * 1024)
    feed(pipe, data)
    reader = proactor_reader(pipe, limit=1024)  # pauses above 2 KiB buffered
    chunks = []
    with anyio.fail_after(30):
        while chunk := await reader.read(4096):
            chunks.append(chunk)
            await asyncio.sleep(0)  # let the transport refill between reads
    assert b"".join(chunks) == data
    assert reader.at_eof()
    reader.close()


async def test_merged_sources_end_when_both_end(pipes: Any) -> None:
    out, err = pipes(), pipes()
    reader = proactor_reader(out)
    reader.add_source(err.ours)
    os.write(out.theirs, b"out 1\n")
    os.write(err.theirs, b"err 1\n")
    out.close_theirs()
    with anyio.fail_after(10):
        first = [await reader.readline(), await reader.readline()]
    await asyncio.sleep(0.05)
    assert not reader.at_eof(), "EOF before the second source ended"
    os.write(err.theirs, b"err 2\n")
    err.close_theirs()
    with anyio.fail_after(10):
        rest = await reader.read()
    assert sorted(first) == [b"err 1\n", b"out 1\n"]
    assert rest == b"err 2\n"
    assert reader.at_eof()
    reader.close()


async def test_close_keeps_buffered_data_then_refuses(pipes: Any) -> None:
    pipe = pipes()
    reader = proactor_reader(pipe)
    os.write(pipe.theirs, b"kept\n")
    with anyio.fail_after(10):
        assert await reader.readexactly(2) == b"ke"
    reader.close()
    assert await reader.read(10) == b"pt\n"
    with pytest.raises(anyio.ClosedResourceError):
        await reader.read(10)
    await asyncio.sleep(0.05)
    assert reader_went_away(pipe)


async def test_closing_before_connecting_closes_the_handle(pipes: Any) -> None:
    pipe = pipes()
    reader = proactor_reader(pipe)
    reader.close()  # the connect task has not run yet
    await asyncio.sleep(0.05)
    assert reader_went_away(pipe)


async def test_writer_before_and_after_connecting(pipes: Any) -> None:
    pipe = pipes(we_read=False)
    writer = ProactorPipeWriter(pipe.ours, high_water=1024, **pipe.options)
    writer.write(b"queued before the transport exists\n")  # the connect task has not run
    payload = os.urandom(1024 * 1024)
    received = bytearray()

    def drain_pipe() -> None:
        while chunk := os.read(pipe.theirs, 65536):
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
    pipe = pipes(we_read=False)
    writer = ProactorPipeWriter(pipe.ours, high_water=1024, **pipe.options)
    writer.write(b"read by nobody")
    await asyncio.sleep(0.05)  # connected and written
    pipe.close_theirs()  # the process exits without reading
    with anyio.fail_after(10), pytest.raises(BrokenPipeError):  # noqa: PT012
        while True:
            writer.write(b"z" * 65536)
            await writer.drain()
    writer.close()
    await writer.wait_closed()


async def test_writer_abort_before_connecting_closes_the_handle(pipes: Any) -> None:
    pipe = pipes(we_read=False)
    writer = ProactorPipeWriter(pipe.ours, **pipe.options)
    writer.write(b"dropped")
    writer.abort()
    with anyio.fail_after(10):
        await writer.wait_closed()
    assert os.read(pipe.theirs, 100) == b""  # EOF: closed, and the queued data dropped


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_is_a_named_gap_and_the_handle_is_closed(pipes: Any) -> None:
    readable, writable = pipes(), pipes(we_read=False)
    with pytest.raises(NotImplementedError, match="trio"):
        ProactorPipeReader(readable.ours, **readable.options)
    with pytest.raises(NotImplementedError, match="trio"):
        ProactorPipeWriter(writable.ours, **writable.options)
    assert reader_went_away(readable)
    assert os.read(writable.theirs, 100) == b""


@pytest.mark.skipif(sys.platform == "win32", reason="the POSIX half needs fds")
async def test_factory_chooses_by_platform(pipes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    readable, writable = pipes(), pipes(we_read=False)
    posix_reader = _stdio_open.open_reader(readable.ours, name="stdout")
    posix_writer = _stdio_open.open_writer(writable.ours, name="stdin")
    assert type(posix_reader) is PipeReader
    assert type(posix_writer) is PipeWriter
    posix_reader.close()
    posix_writer.abort()

    made: list[tuple[str, int, str]] = []

    class Recorder:
        def __init__(self, kind: str) -> None:
            self.kind = kind

        def __call__(self, handle: int, *, name: str) -> str:
            made.append((self.kind, handle, name))
            return self.kind

    import hcsaio.compute._stdio_windows as windows

    monkeypatch.setattr(windows, "ProactorPipeReader", Recorder("reader"))
    monkeypatch.setattr(windows, "ProactorPipeWriter", Recorder("writer"))
    monkeypatch.setattr(sys, "platform", "win32")
    reader: object = _stdio_open.open_reader(1234, name="stderr")
    writer: object = _stdio_open.open_writer(5678, name="stdin")
    assert (reader, writer) == ("reader", "writer")
    assert made == [("reader", 1234, "stderr"), ("writer", 5678, "stdin")]


# ---- the Proactor classes inside Process, against the emulator ----------------


@pytest.fixture
def proactor_stdio(monkeypatch: pytest.MonkeyPatch) -> None:
    """Process builds its streams with the Windows classes (over fds here)."""
    import hcsaio.compute._process as process_module

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


@pytest.mark.skipif(sys.platform != "linux", reason="the HCS emulator runs on Linux only")
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
