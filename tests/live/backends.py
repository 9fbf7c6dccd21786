"""The backends the end-to-end suite in tests/live runs against.

* ``emulator``: hcsaio's Linux HCS emulator (the default backend on Linux);
  containers without storage, whose processes run on the host under ``sh``.
* ``windows``: a real Windows HCS (``computecore.dll``), marked ``hcs_live``:
  opt in with ``--hcs-live``. It then *fails*, never skips, if the host has no
  HCS or the image is not configured.

What the Windows backend needs (hcsaio binds no storage API yet, so the
container's layers are prepared outside the test, as the CI job does with
hcsshim's ``wclayer`` tool):

``HCSAIO_LIVE_IMAGE``
    The top layer folder of a process-isolation image matching the host
    build, e.g. ``docker inspect -f '{{.GraphDriver.Data.dir}}'
    mcr.microsoft.com/windows/nanoserver:ltsc2022`` (a ``windowsfilter``
    folder). Its ``layerchain.json`` lists the parent layers; together they
    are the container's read-only ``Storage.Layers``, topmost first.
``HCSAIO_LIVE_SCRATCH``
    The mounted volume path (``\\\\?\\Volume{...}\\``) of a writable layer
    created on those layers and mounted (``wclayer create`` + ``wclayer
    mount``: CreateSandboxLayer, ActivateLayer, PrepareLayer,
    GetLayerMountPath). The containers of the suite use it one after the
    other, never at once.

With storage bindings (HcsInitializeWritableLayer, HcsAttachLayerStorageFilter
and friends, declared in ``_cffi_build/include/hcs_storage_defs.h``) the
suite could prepare a fresh scratch per container itself; that is the gap.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hcsaio.schema import container_document

IMAGE_VARIABLE = "HCSAIO_LIVE_IMAGE"
SCRATCH_VARIABLE = "HCSAIO_LIVE_SCRATCH"


class LiveConfigError(Exception):
    """The live backend is not usable; the message says what is missing."""


def layer_chain(image: Path) -> list[str]:
    """``image`` and its parents from ``layerchain.json``: topmost first."""
    if not image.is_dir():
        raise LiveConfigError(f"{IMAGE_VARIABLE}={image} is not a directory")
    chain_file = image / "layerchain.json"
    parents: list[Any] = []
    if chain_file.exists():
        parents = json.loads(chain_file.read_text(encoding="utf-8") or "[]")
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise LiveConfigError(f"{chain_file} is not a JSON list of layer paths")
    return [str(image), *parents]


@dataclass(frozen=True)
class Backend:
    name: str
    layers: tuple[str, ...] = ()
    scratch: str | None = None

    @property
    def is_windows(self) -> bool:
        return self.name == "windows"

    def document(self, owner: str = "hcsaio-live-tests") -> Any:
        if self.is_windows:
            return container_document(
                layers=list(self.layers), scratch_dir=self.scratch, owner=owner
            )
        return {"SchemaVersion": {"Major": 2, "Minor": 1}, "Owner": owner, "Container": {}}

    def shell(self, *, sh: str, cmd: str) -> list[str]:
        """argv running a script in the container's shell: ``sh -c`` on the
        emulator, ``cmd /c`` in a Windows container."""
        return ["cmd", "/c", cmd] if self.is_windows else ["sh", "-c", sh]

    def sleep(self, seconds: int) -> list[str]:
        """A process that runs for ``seconds`` unless killed (nanoserver has
        no ``timeout.exe`` that works without a console; ping does)."""
        return self.shell(sh=f"sleep {seconds}", cmd=f"ping -n {seconds + 1} 127.0.0.1 > nul")

    @staticmethod
    def lines(output: bytes) -> list[bytes]:
        """Output lines without line ends (cmd writes CRLF) or trailing blanks (cmd's echo)."""
        return [line.rstrip(b"\r").rstrip() for line in output.splitlines()]


def windows_backend(environ: dict[str, str] | None = None) -> Backend:
    """The Windows backend from the environment, or LiveConfigError naming what is missing."""
    env = dict(os.environ) if environ is None else environ
    missing = [v for v in (IMAGE_VARIABLE, SCRATCH_VARIABLE) if not env.get(v)]
    if missing:
        raise LiveConfigError(
            f"the live Windows backend needs {' and '.join(missing)} "
            "(see tests/live/backends.py for how to prepare them)"
        )
    layers = layer_chain(Path(env[IMAGE_VARIABLE]))
    return Backend("windows", layers=tuple(layers), scratch=env[SCRATCH_VARIABLE])


def emulator_available() -> bool:
    return sys.platform == "linux"
