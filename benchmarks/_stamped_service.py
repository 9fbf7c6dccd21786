"""An emulator service that timestamps every event it sends (benchmarks only).

Run as ``python _stamped_service.py serve --socket PATH ...`` (the arguments
of ``python -m hcsaio.emulator``). Before serving, it wraps the service's
per-client ``Session.send_event``, the one place every event leaves the
service, so that the event's JSON payload carries ``"BenchSentNs"``:
``time.monotonic_ns()`` (CLOCK_MONOTONIC, shared by every process on the
machine) taken just before the frame is encoded and queued on the client's
socket. The events benchmark reads it back from ``Event.data``. Nothing else
changes: hcsaio decodes payloads into structs that ignore unknown fields.

:func:`start` runs one for the current process and points hcsaio at it
through ``HCSAIO_EMULATOR_SOCKET``; it stops when this process exits.
"""

from __future__ import annotations

import atexit
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAMP_KEY = "BenchSentNs"


def _install_stamp() -> None:
    from hcsaio.emulator.wire import _session

    original = _session.Session.send_event

    def send_event(self: object, handle_id: int, event_type: int, data: str | None) -> None:
        stamp = f'"{STAMP_KEY}": {time.monotonic_ns()}'
        if data is None or data.strip() in ("", "{}"):
            data = "{" + stamp + "}"
        elif data.rstrip().endswith("}"):
            data = data.rstrip()[:-1] + ", " + stamp + "}"
        original(self, handle_id, event_type, data)  # type: ignore[arg-type]

    _session.Session.send_event = send_event  # type: ignore[method-assign]


def start() -> str:
    """Start a stamped service for this process; returns its socket path."""
    directory = tempfile.mkdtemp(prefix="hcsaio-bench-emu-", dir="/tmp")
    socket_path = os.path.join(directory, "hcs.sock")
    lifeline_read, lifeline_write = os.pipe()
    ready_read, ready_write = os.pipe()
    env = dict(os.environ)
    env.pop("HCSAIO_EMULATOR_SOCKET", None)
    import hcsaio

    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(hcsaio.__file__).resolve().parents[1]), env.get("PYTHONPATH", "")]
    )
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "serve",
        "--socket",
        socket_path,
        "--mode",
        os.environ.get("HCSAIO_EMULATOR_MODE", "auto"),
        "--lifeline-fd",
        str(lifeline_read),
        "--ready-fd",
        str(ready_write),
    ]
    process = subprocess.Popen(
        command,
        pass_fds=(lifeline_read, ready_write),
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    os.close(lifeline_read)
    os.close(ready_write)
    try:
        _wait_ready(ready_read, process)
    finally:
        os.close(ready_read)

    def stop() -> None:
        os.close(lifeline_write)  # the service sees EOF and shuts down
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(stop)
    os.environ["HCSAIO_EMULATOR_SOCKET"] = socket_path
    return socket_path


def _wait_ready(fd: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    received = b""
    while b"\n" not in received:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError("the stamped emulator service did not start")
        readable, _, _ = select.select([fd], [], [], remaining)
        if readable:
            chunk = os.read(fd, 64)
            if not chunk:
                raise RuntimeError(f"the stamped emulator service exited ({process.wait()})")
            received += chunk


if __name__ == "__main__":
    _install_stamp()
    from hcsaio.emulator.__main__ import main

    sys.exit(main(sys.argv[1:]))
