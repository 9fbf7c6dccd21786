"""The on-disk form of a layer folder (docs/storage.md, "Layer folders").

::

    <layer>/
      Files/              the layer's files (a Linux layer: its whole delta;
                          a Windows layer: the container's C:\\ delta)
      Hives/ UtilityVM/   Windows layers only, as the tar carries them
      layerchain.json     JSON array of the parent layer paths, topmost first
                          (moby's order and file name)
      hcsaio-layer.json   what the file tree cannot hold: the layer's type,
                          its deletions (whiteouts and opaque directories, with
                          their tar metadata) and the Windows PAX records

A deletion is always recorded in ``hcsaio-layer.json``; as root it is also
written the way overlayfs reads it (a 0:0 character device for a deleted
name, ``trusted.overlay.opaque=y`` on an opaque directory), so ``Files/``
can be an overlayfs lower directory as it is. Without root only the record
exists (an unprivileged process cannot make either), and a root process that
mounts such a layer must write the whiteouts first (still to do, issue 15).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Literal

import msgspec

__all__ = [
    "CHAIN_FILE",
    "FILES",
    "META_FILE",
    "Deletion",
    "LayerMeta",
    "check_new_layer",
    "check_parents",
    "is_layer",
    "is_root",
    "read_meta",
    "remove_tree",
    "staging_dir",
    "write_meta",
]

FILES = "Files"
CHAIN_FILE = "layerchain.json"
META_FILE = "hcsaio-layer.json"
#: Top-level folders of a Windows layer tar (hcsshim's backuptar form).
WINDOWS_ROOTS = frozenset({"Files", "Hives", "UtilityVM"})
FORMAT = 1


class Deletion(msgspec.Struct, forbid_unknown_fields=True):
    """A whiteout (``path`` deleted from the layers below) or an opaque
    directory (``path``'s lower contents hidden), with the metadata of the
    tar entry that carried it so that export gives the same entry back."""

    path: str
    mode: int = 0
    uid: int = 0
    gid: int = 0
    mtime: str = "0"  # the tar's mtime text (seconds, maybe with a fraction)


class LayerMeta(msgspec.Struct, forbid_unknown_fields=True):
    format: int = FORMAT
    type: Literal["linux", "windows"] = "linux"
    #: bytes of regular-file data the import wrote
    size: int = 0
    whiteouts: list[Deletion] = msgspec.field(default_factory=list)
    opaque: list[Deletion] = msgspec.field(default_factory=list)
    #: Windows layers: tar name -> its MSWINDOWS.* / LIBARCHIVE.* PAX records
    windows: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)


def is_root() -> bool:
    return sys.platform != "win32" and os.geteuid() == 0


def is_layer(path: Path) -> bool:
    return (path / FILES).is_dir()


def check_new_layer(path: Path) -> None:
    """A new layer's folder must not exist and its parent folder must."""
    if os.path.lexists(path):
        raise ValueError(f"layer {str(path)!r} already exists")
    if not path.parent.is_dir():
        raise ValueError(f"the folder for layer {str(path)!r} ({path.parent}) does not exist")


def check_parents(parent_layer_paths: list[str] | tuple[str, ...]) -> list[str]:
    if isinstance(parent_layer_paths, str | bytes):  # type: ignore[unreachable, unused-ignore]
        raise TypeError("parent_layer_paths is a list of layer folders, not one string")
    out = []
    for parent in parent_layer_paths:
        if not isinstance(parent, str | os.PathLike):
            raise TypeError(f"parent layer path {parent!r} is not a path")
        p = Path(parent)
        if not is_layer(p):
            raise ValueError(f"parent layer {str(p)!r} is not a layer folder (no {FILES}/)")
        out.append(os.path.abspath(p))
    return out


def staging_dir(path: Path) -> Path:
    """A fresh folder beside ``path`` that is renamed to it when complete: a
    half-written layer never has the layer's name. The prefix says what it is
    to whoever finds one left by a killed process."""
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))


def write_meta(layer: Path, meta: LayerMeta, parents: list[str]) -> None:
    (layer / META_FILE).write_bytes(msgspec.json.encode(meta))
    (layer / CHAIN_FILE).write_text(json.dumps(parents))


def read_meta(layer: Path) -> LayerMeta:
    """The layer's record; a layer folder without one (made by other means)
    reads as a Linux layer without deletions."""
    try:
        data = (layer / META_FILE).read_bytes()
    except FileNotFoundError:
        return LayerMeta()
    meta = msgspec.json.decode(data, type=LayerMeta)
    if meta.format != FORMAT:
        raise ValueError(f"layer {str(layer)!r}: record format {meta.format} is not {FORMAT}")
    return meta


def remove_tree(path: Path) -> None:
    """Remove a layer folder completely, read-only folders included (without
    root, a folder without write permission would keep its entries)."""
    if not os.path.lexists(path):
        return
    if not is_root():
        for top, dirs, _files in os.walk(path):
            for d in dirs:
                full = os.path.join(top, d)
                if not os.path.islink(full):
                    os.chmod(full, stat.S_IRWXU)
    shutil.rmtree(path, ignore_errors=False, onerror=_gone_is_fine)


def _gone_is_fine(
    func: object, p: str, exc: tuple[type[BaseException], BaseException, object]
) -> None:
    if not isinstance(exc[1], FileNotFoundError):
        raise exc[1]
