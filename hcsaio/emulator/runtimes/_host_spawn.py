"""Starting one host process: user resolution, session, controlling tty."""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import subprocess
import termios
from collections.abc import Callable
from typing import Any

from ._runtime import ProcessSpec, Stdio


def _acquire_controlling_tty() -> None:
    # Runs in the child after setsid(): make the pty slave on fd 0 the
    # session's controlling terminal, so ^C, job control and SIGWINCH work.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _user_ids(user: str) -> tuple[int, int, list[int]]:
    """``name``, ``uid``, ``name:group`` or ``uid:gid`` -> (uid, gid, groups)."""
    name, _, group = user.partition(":")
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except KeyError:
        if not name.isdigit():
            raise ValueError(f"unknown user {name!r}") from None
        entry = None
    uid = int(name) if entry is None else entry.pw_uid
    gid = uid if entry is None else entry.pw_gid
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise ValueError(f"unknown group {group!r}") from None
    groups = os.getgrouplist(entry.pw_name, gid) if entry is not None else [gid]
    return uid, gid, groups


def user_options(user: str | None) -> dict[str, Any]:
    """Popen keyword arguments that run the child as ``user``. Without root
    only the service's own user is possible (PermissionError otherwise)."""
    if user is None:
        return {}
    uid, gid, groups = _user_ids(user)
    if os.geteuid() != 0:
        if uid != os.geteuid():
            raise PermissionError(f"running a process as user {user!r} needs a root service")
        return {}
    return {"user": uid, "group": gid, "extra_groups": groups}


def spawn(spec: ProcessSpec, stdio: Stdio) -> subprocess.Popen[bytes]:
    """Start ``spec`` in its own session and process group. Raises
    FileNotFoundError (program or working directory missing, ``filename``
    says which), PermissionError, ValueError (unknown user)."""
    preexec: Callable[[], None] | None = _acquire_controlling_tty if spec.tty else None
    return subprocess.Popen(
        list(spec.argv),
        stdin=subprocess.DEVNULL if stdio.stdin is None else stdio.stdin,
        stdout=subprocess.DEVNULL if stdio.stdout is None else stdio.stdout,
        stderr=subprocess.DEVNULL if stdio.stderr is None else stdio.stderr,
        cwd=spec.cwd,
        env=spec.env,
        start_new_session=True,
        close_fds=True,
        preexec_fn=preexec,  # consoles only: see _acquire_controlling_tty
        **user_options(spec.user),
    )
