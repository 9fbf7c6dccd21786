"""Which emulator service the command line talks to.

hcsaio's library starts a private emulator service per process unless
``HCSAIO_EMULATOR_SOCKET`` names a shared one. A private service starts
empty and stops with the process, which is right for a script but useless
for ``hcsaio list`` at a terminal. So the command line also knows a
well-known per-user socket: ``hcsaio emulator serve`` without ``--socket``
listens there, and every other command uses it when a service answers on
it (and ``HCSAIO_EMULATOR_SOCKET`` is unset):

* ``$XDG_RUNTIME_DIR/hcsaio/emulator.sock`` when ``XDG_RUNTIME_DIR`` is set,
* else ``/tmp/hcsaio-<uid>/emulator.sock``.

The directory must belong to us and be closed to others (0700), else
another user could plant a socket there and see our requests.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from typing import Final, Literal

ENV_SOCKET: Final = "HCSAIO_EMULATOR_SOCKET"
ENV_LIBRARY: Final = "HCSAIO_LIBRARY"
SOCKET_NAME: Final = "emulator.sock"
_SUN_PATH_MAX: Final = 107

#: ``configured``: HCSAIO_EMULATOR_SOCKET; ``default``: the well-known socket;
#: ``private``: a service of this process only; ``native``: not the emulator.
ServiceChoice = Literal["configured", "default", "private", "native"]


def default_socket() -> str:
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir and os.path.isabs(runtime_dir):
        path = os.path.join(runtime_dir, "hcsaio", SOCKET_NAME)
        if len(path.encode()) <= _SUN_PATH_MAX:
            return path
    return os.path.join("/tmp", f"hcsaio-{_uid()}", SOCKET_NAME)


def _uid() -> int:
    if sys.platform == "win32":
        raise RuntimeError("the emulator's well-known socket exists only on Linux")
    else:
        return os.geteuid()


def _private_directory(directory: str) -> bool:
    try:
        info = os.stat(directory)
    except OSError:
        return False
    return info.st_uid == _uid() and not info.st_mode & 0o077


def _answers(path: str) -> bool:
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return False
    except OSError:
        return False
    return _connects(path)


def _connects(path: str) -> bool:
    if sys.platform == "win32":
        return False
    else:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(2.0)
        try:
            probe.connect(path)
        except OSError:
            return False  # a socket left behind by a service that is gone
        finally:
            probe.close()
        return True


def choose_service() -> ServiceChoice:
    """Decide, and point the library at the well-known socket if a service
    listens there. Call before the library is loaded."""
    if sys.platform != "linux":
        return "native"
    else:
        if os.environ.get(ENV_LIBRARY):
            return "native"
        if os.environ.get(ENV_SOCKET):
            return "configured"
        path = default_socket()
        if _private_directory(os.path.dirname(path)) and _answers(path):
            os.environ[ENV_SOCKET] = path
            return "default"
        return "private"


PRIVATE_SERVICE_NOTE: Final = (
    "no emulator service is running, so this command uses a private one that starts "
    "empty and stops when it exits; start a shared one with `hcsaio emulator serve` "
    "(or set HCSAIO_EMULATOR_SOCKET)"
)
