"""The service's listening socket: private directory, mode 0600, no stale
sockets, and the peer-credential rule."""

from __future__ import annotations

import contextlib
import os
import socket
import stat

from ._session import Peer

_SUN_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes with the NUL


class SocketSetupError(Exception):
    """The socket cannot be served safely (message says why)."""


def ensure_private_directory(directory: str) -> None:
    """Create ``directory`` (mode 0700) or check that an existing one is ours
    and closed to group and others: the socket's mode alone does not keep
    another user from replacing it in a shared directory."""
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    info = os.stat(directory)
    if info.st_uid != os.geteuid():
        raise SocketSetupError(f"{directory} belongs to uid {info.st_uid}, not to this user")
    if info.st_mode & 0o077:
        raise SocketSetupError(
            f"{directory} is open to group/others (mode {stat.S_IMODE(info.st_mode):o}); "
            "the socket must live in a private (0700) directory"
        )


def _remove_stale(path: str) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise SocketSetupError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        os.unlink(path)  # nobody listens: a socket left by a dead service
        return
    except OSError as err:
        raise SocketSetupError(f"{path}: cannot tell whether it is in use: {err}") from err
    finally:
        probe.close()
    raise SocketSetupError(f"another service is already listening on {path}")


def listen(path: str) -> tuple[socket.socket, int]:
    """A non-blocking listening socket at ``path`` and its inode (so the
    service later removes only its own socket file)."""
    path = os.path.abspath(path)
    if len(os.fsencode(path)) > _SUN_PATH_MAX:
        raise SocketSetupError(
            f"{path}: socket path is {len(os.fsencode(path))} bytes, AF_UNIX allows "
            f"{_SUN_PATH_MAX}; choose a shorter --socket"
        )
    ensure_private_directory(os.path.dirname(path))
    _remove_stale(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)  # created 0600, never briefly wider
    try:
        server.bind(path)
    except OSError:
        server.close()
        raise
    finally:
        os.umask(old_mask)
    os.chmod(path, 0o600)
    server.listen(1024)
    server.setblocking(False)
    return server, os.lstat(path).st_ino


def remove_socket(path: str, inode: int) -> None:
    with contextlib.suppress(OSError):
        if os.lstat(path).st_ino == inode:
            os.unlink(path)


def peer_allowed(peer: Peer) -> bool:
    """Same user as the service, or root."""
    return peer.uid in (os.geteuid(), 0)
