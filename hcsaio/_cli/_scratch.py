"""Where ``hcsaio run`` puts the scratch layers it creates, so they can be
found again and removed when the container is stopped by a later command.

A container without ``--rm`` outlives ``run``, and its scratch (the
overlay's upper layer: everything the container wrote) must stay while it
runs. ``hcsaio shutdown``/``terminate``/``kill ID`` remove it once the
system has stopped (its overlay is unmounted then). Layout, one tree per user and per emulator service (ids are
per service)::

    $TMPDIR/hcsaio-scratch-<uid>/<service>/<quoted id>/<unique>/

``<quoted id>`` is the id percent-encoded, so no id's directory can be
taken for another's; ``<unique>`` keeps a new container from reusing what
an old one with the same id left behind. A ``--scratch`` given by the user
is never removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.parse
from pathlib import Path

from ._service_choice import ENV_SOCKET


def _user() -> str:
    if sys.platform == "win32":
        return os.environ.get("USERNAME", "user")
    else:
        return str(os.geteuid())


def _service_key(socket: str | None = None) -> str:
    socket = socket or os.environ.get(ENV_SOCKET)
    if not socket:
        return "native"
    return "emulator-" + hashlib.sha256(os.path.abspath(socket).encode()).hexdigest()[:12]


def scratch_root(*, create: bool = False, socket: str | None = None) -> Path | None:
    """This user's tree for the current service, or None if the shared
    temporary directory holds someone else's (then nothing is kept there)."""
    top = Path(tempfile.gettempdir()) / f"hcsaio-scratch-{_user()}"
    try:
        if create:
            top.mkdir(mode=0o700, exist_ok=True)
        if sys.platform != "win32" and top.exists():
            info = top.stat()
            if info.st_uid != os.geteuid() or info.st_mode & 0o077:
                return None
    except OSError:
        return None
    return top / _service_key(socket)


def _id_dir(root: Path, system_id: str) -> Path:
    return root / urllib.parse.quote(system_id, safe="")


def new_scratch(system_id: str, *, keep: bool) -> str:
    """A fresh, empty scratch directory for ``system_id``; one that may
    outlive this command (``keep``) goes where a later command finds it."""
    root = scratch_root(create=True) if keep else None
    if root is None:
        return tempfile.mkdtemp(prefix="hcsaio-scratch-")
    directory = _id_dir(root, system_id)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return tempfile.mkdtemp(dir=directory)


def scratches_of(system_id: str) -> list[Path]:
    """The scratch directories ``run`` made for ``system_id``. Take the list
    before stopping the system and remove exactly those after: a new
    container with the same id, created meanwhile, keeps its own."""
    root = scratch_root()
    if root is None:
        return []
    try:
        return list(_id_dir(root, system_id).iterdir())
    except OSError:
        return []


def remove_scratches(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
    root = scratch_root()
    for parent in {path.parent for path in paths}:
        if root is not None and parent.parent == root:  # an id's directory, never /tmp
            with contextlib.suppress(OSError):
                parent.rmdir()  # only if empty
                root.rmdir()  # and the service's, when that was its last container


def remove_service_tree(socket: str) -> None:
    """The emulator service on ``socket`` has stopped, and its containers
    with it: nothing in its tree is in use any more."""
    root = scratch_root(socket=socket)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
