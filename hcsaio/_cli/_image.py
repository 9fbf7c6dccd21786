"""The ComputeSystem document ``hcsaio run`` creates.

* ``--layer DIR``...: a process-isolated container on those read-only
  layers (topmost first) with ``--scratch`` (default: a fresh directory,
  see ``_scratch``) as its writable layer.
* No ``--layer``, as root on Linux: the emulator's small base layer, built
  once from the host into ``$XDG_CACHE_HOME/hcsaio/base-layer`` (the same
  cache the examples use), so ``hcsaio run -- sh`` gives a real container.
* No ``--layer`` without root, or with ``--host``: a Container document
  without storage, which the emulator runs as processes on the host in
  their own session (HCS's job-container/process-isolation-lite case).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..schema import container_document, v2
from ._context import Context
from ._parser import usage_error
from ._scratch import new_scratch, remove_scratches


@dataclass
class Image:
    document: v2.ComputeSystem
    #: What ``--rm`` removes with the container: the scratch hcsaio made.
    temporary: list[str] = field(default_factory=list)

    def remove_temporary(self) -> None:
        remove_scratches([Path(p) for p in self.temporary])
        self.temporary.clear()


def base_layer_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "hcsaio" / "base-layer"


def can_run_real_containers() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0


async def prepare_base_layer(ctx: Context) -> Path:
    from ..emulator.runtimes._baselayer import make_base_layer

    path = base_layer_dir()
    with ctx.progress(f"preparing the base layer in {path} (once)"):
        await asyncio.to_thread(make_base_layer, str(path))
    return path


def parse_mount(args: argparse.Namespace, spec: str) -> tuple[str, str, bool]:
    """``HOST:CONTAINER[:ro|rw]``."""
    parts = spec.split(":")
    read_only = False
    if len(parts) == 3 and parts[2] in ("ro", "rw"):
        read_only = parts.pop() == "ro"
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise usage_error(args, f"--mount wants HOST:CONTAINER[:ro], not {spec!r}")
    host = os.path.abspath(parts[0])
    if not os.path.exists(host):
        raise usage_error(args, f"--mount: {host} does not exist")
    return host, parts[1], read_only


def parse_env(args: argparse.Namespace, specs: list[str]) -> dict[str, str]:
    """``-e K=V``; a bare ``-e K`` takes K's value here, if it has one."""
    env: dict[str, str] = {}
    for spec in specs:
        name, eq, value = spec.partition("=")
        if not name:
            raise usage_error(args, f"-e wants NAME=VALUE, not {spec!r}")
        if eq:
            env[name] = value
        elif name in os.environ:
            env[name] = os.environ[name]
    return env


def _scratch(args: argparse.Namespace) -> str:
    scratch = os.path.abspath(str(args.scratch))
    os.makedirs(scratch, exist_ok=True)
    return scratch


def _check_layers(args: argparse.Namespace, layers: list[str]) -> list[str]:
    checked = []
    for layer in layers:
        path = os.path.abspath(layer)
        if not os.path.isdir(path):
            raise usage_error(args, f"--layer: {path} is not a directory")
        checked.append(path)
    return checked


async def build_image(args: argparse.Namespace, ctx: Context) -> Image:
    layers = _check_layers(args, args.layer)
    mounts = [parse_mount(args, m) for m in args.mount]
    if not layers and not args.host:
        if sys.platform == "win32":
            raise usage_error(args, "--layer is required on Windows (there is no default image)")
        else:
            if can_run_real_containers():
                layers = [str(await prepare_base_layer(ctx))]
    image = Image(v2.ComputeSystem())
    scratch = args.scratch
    if layers and scratch is None:
        # Findable later unless the service (and so the container) ends with us.
        scratch = new_scratch(args.name, keep=ctx.service != "private")
        image.temporary.append(scratch)
    elif scratch is not None:
        scratch = _scratch(args)
    try:
        image.document = container_document(
            layers=layers,
            scratch_dir=scratch if layers else None,
            owner=args.owner,
            mapped_directories=mounts,
            memory_mb=args.memory,
            cpu_count=args.cpus,
            hostname=args.hostname,
            # Without --rm the container is meant to outlive this command.
            terminate_on_last_handle_closed=args.rm,
        )
    except BaseException:
        image.remove_temporary()
        raise
    return image
