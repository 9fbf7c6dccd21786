"""Finding libhcsemu, and starting the private emulator service on demand.

hcsaio's backend loader calls ``library_path()`` and ``ensure_service()``.
If ``HCSAIO_EMULATOR_SOCKET`` names a service, that shared service is used
and never stopped by this process. Otherwise the first call starts a
private one: ``python -m hcsaio.emulator serve`` on a socket in a fresh
0700 directory, with

* a *lifeline* pipe whose write end only this process holds: when this
  process exits, however it dies (even SIGKILL), the service reads EOF and
  shuts down, so no service outlives its user;
* a *ready* pipe the service writes once its socket accepts (no polling);
* an ``atexit`` hook that stops it and removes the directory.

A child created by ``fork`` inherits the environment, hence uses its
parent's service as a shared one; it drops its copy of the lifeline and
never stops a service it did not start.

Environment: ``HCSAIO_EMULATOR_LIBRARY`` overrides the library path (e.g.
a sanitizer build); ``HCSAIO_EMULATOR_MODE`` (auto|host) and
``HCSAIO_EMULATOR_LOG_LEVEL`` are passed to a private service.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.machinery
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ENV_SOCKET = "HCSAIO_EMULATOR_SOCKET"
ENV_LIBRARY = "HCSAIO_EMULATOR_LIBRARY"
ENV_MODE = "HCSAIO_EMULATOR_MODE"
ENV_LOG_LEVEL = "HCSAIO_EMULATOR_LOG_LEVEL"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes with the NUL

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../hcsaio


class EmulatorStartError(RuntimeError):
    """The private emulator service did not come up."""


def library_path() -> str:
    """The libhcsemu shared object to load."""
    override = os.environ.get(ENV_LIBRARY)
    if override:
        return override
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = _PACKAGE_DIR / f"_hcsemu{suffix}"
        if candidate.is_file():
            return str(candidate)
    found = sorted(_PACKAGE_DIR.glob("_hcsemu*.so"))
    if found:
        return str(found[0])
    raise FileNotFoundError(
        f"libhcsemu is not built (no _hcsemu*.so in {_PACKAGE_DIR}): reinstall hcsaio or run "
        "`python setup.py build_ext --inplace`"
    )


@dataclass
class _PrivateService:
    process: subprocess.Popen[bytes]
    directory: str
    socket_path: str
    lifeline: int  # our write end; closing it stops the service
    owner_pid: int


_lock = threading.Lock()
_private: _PrivateService | None = None
_atexit_registered = False


def ensure_service() -> str:
    """The socket of the service to use, starting a private one if none is
    configured. Thread-safe; starts at most one service per process."""
    global _private, _atexit_registered
    with _lock:
        configured = os.environ.get(ENV_SOCKET)
        if configured:
            return configured
        if _private is None:
            _private = _start()
            if not _atexit_registered:
                atexit.register(stop_service)
                _atexit_registered = True
        os.environ[ENV_SOCKET] = _private.socket_path
        return _private.socket_path


def stop_service() -> None:
    """Stop the private service this process started (if any) and remove
    its directory. A configured shared service is left alone."""
    global _private
    with _lock:
        private, _private = _private, None
    if private is None or private.owner_pid != os.getpid():
        return
    os.close(private.lifeline)  # the service sees EOF and shuts down cleanly
    try:
        private.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        private.process.kill()
        private.process.wait()
    shutil.rmtree(private.directory, ignore_errors=True)
    if os.environ.get(ENV_SOCKET) == private.socket_path:
        del os.environ[ENV_SOCKET]


def _private_directory() -> str:
    directory = tempfile.mkdtemp(prefix="hcsaio-emu-")  # mode 0700
    if len(os.path.join(directory, "hcs.sock").encode()) > _SUN_PATH_MAX:
        os.rmdir(directory)  # TMPDIR is too deep for a socket path
        directory = tempfile.mkdtemp(prefix="hcsaio-emu-", dir="/tmp")
    return directory


def _service_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop(ENV_SOCKET, None)
    # Run the very hcsaio this process imported, wherever it came from.
    paths = [str(_PACKAGE_DIR.parent), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _start() -> _PrivateService:
    directory = _private_directory()
    socket_path = os.path.join(directory, "hcs.sock")
    lifeline_read, lifeline_write = os.pipe()
    ready_read, ready_write = os.pipe()
    command = [
        sys.executable,
        # -P: no working directory in front of sys.path. The service must run
        # the hcsaio this process imported (PYTHONPATH below), not a checkout
        # the user happens to stand in: its shim or libhcsemu may be stale
        # builds (a standby shim then printed "hcsemu-shim: bad arguments").
        "-P",
        "-m",
        "hcsaio.emulator",
        "serve",
        "--socket",
        socket_path,
        "--mode",
        os.environ.get(ENV_MODE, "auto"),
        "--log-level",
        os.environ.get(ENV_LOG_LEVEL, "warning"),
        "--lifeline-fd",
        str(lifeline_read),
        "--ready-fd",
        str(ready_write),
    ]
    try:
        process = subprocess.Popen(
            command,
            pass_fds=(lifeline_read, ready_write),
            stdin=subprocess.DEVNULL,
            env=_service_environment(),
            start_new_session=True,  # a terminal's ^C is for us; we stop it ourselves
        )
    except BaseException:
        for fd in (lifeline_read, lifeline_write, ready_read, ready_write):
            os.close(fd)
        shutil.rmtree(directory, ignore_errors=True)
        raise
    os.close(lifeline_read)
    os.close(ready_write)
    try:
        _wait_ready(ready_read, process)
    except BaseException:
        os.close(lifeline_write)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        os.close(ready_read)
    return _PrivateService(process, directory, socket_path, lifeline_write, os.getpid())


def _wait_ready(ready: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    received = b""
    while b"\n" not in received:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise EmulatorStartError(f"the emulator service did not start in {START_TIMEOUT:.0f} s")
        readable, _, _ = select.select([ready], [], [], remaining)
        if readable:
            chunk = os.read(ready, 64)
            if not chunk:
                code = process.wait()
                raise EmulatorStartError(
                    f"the emulator service exited with code {code} before it was ready "
                    "(its error is on stderr)"
                )
            received += chunk


def _after_fork_in_child() -> None:
    global _private, _lock
    _lock = threading.Lock()  # it may have been held by another thread of the parent
    if _private is not None:
        with contextlib.suppress(OSError):
            os.close(_private.lifeline)
        _private = None


os.register_at_fork(after_in_child=_after_fork_in_child)
