"""Fixtures for driving ``NamespaceRuntime`` directly through the runtime
contract: real containers (root only), a base layer built once per session,
and helpers that run a process with pipes and collect what it prints.

Tests marked ``privileged`` are skipped unless the suite runs as root (CI
does). They use the installed shim, or ``$HCSAIO_EMULATOR_SHIM``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from hcsaio.emulator.runtimes._runtime import ContainerSpec, ProcessSpec, Stdio
from hcsaio.emulator.runtimes._runtime_ns import NamespaceProcess, NamespaceRuntime, shim_path

IS_ROOT = os.geteuid() == 0
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_ENV = {"PATH": DEFAULT_PATH}


@pytest.fixture(autouse=True)
def _needs_root(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("privileged") and not IS_ROOT:
        pytest.skip("real containers need root (CI runs as root)")


@pytest.fixture(scope="session")
def base_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root filesystem built from the host (shell, coreutils, python3)."""
    from hcsaio.emulator.runtimes._baselayer import make_base_layer

    layer = Path(
        os.environ.get("HCSAIO_TEST_BASE_LAYER") or tmp_path_factory.mktemp("base-layer") / "layer"
    )
    return make_base_layer(layer)


@pytest.fixture(scope="session")
def shim() -> str:
    path = shim_path()
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"the container shim {path} is missing: build the package or set HCSAIO_EMULATOR_SHIM"
        )
    return path


def read_text(path: str | Path) -> str:
    """A small file of the host (procfs, cgroupfs): instant, fine on the loop."""
    return Path(path).read_text()


def exists(path: str | Path) -> bool:
    return Path(path).exists()


@dataclass
class Result:
    code: int
    out: bytes
    err: bytes
    process: NamespaceProcess

    @property
    def text(self) -> str:
        return self.out.decode()


async def read_all(fd: int) -> bytes:
    """Read a pipe to EOF on the event loop, then close it."""
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    done: asyncio.Future[None] = loop.create_future()
    os.set_blocking(fd, False)

    def on_readable() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if data:
            chunks.append(data)
        elif not done.done():
            done.set_result(None)

    loop.add_reader(fd, on_readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    return b"".join(chunks)


async def spawn_piped(
    rt: NamespaceRuntime, argv: Sequence[str], **options: Any
) -> tuple[NamespaceProcess, int, int]:
    """Spawn with stdout/stderr pipes; returns the process and the read ends."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        spec = ProcessSpec(argv=tuple(argv), env=options.pop("env", DEFAULT_ENV), **options)
        proc = await rt.spawn(spec, Stdio(None, out_w, err_w))
    except BaseException:
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        # the service closes its copies of the child's ends once spawned
        os.close(out_w)
        os.close(err_w)
    assert isinstance(proc, NamespaceProcess)
    return proc, out_r, err_r


async def run(
    rt: NamespaceRuntime, argv: Sequence[str], *, timeout: float = 30, **options: Any
) -> Result:
    proc, out_r, err_r = await spawn_piped(rt, argv, **options)
    async with asyncio.timeout(timeout):
        out, err, code = await asyncio.gather(read_all(out_r), read_all(err_r), proc.wait())
    return Result(code, out, err, proc)


async def sh(rt: NamespaceRuntime, script: str, **options: Any) -> Result:
    return await run(rt, ["/bin/sh", "-c", script], **options)


MakeRuntime = Callable[..., Awaitable[NamespaceRuntime]]


@pytest_asyncio.fixture
async def make_runtime(base_layer: Path, shim: str, tmp_path: Path) -> AsyncIterator[MakeRuntime]:
    """Create (and by default start) containers; destroy them all after."""
    made: list[NamespaceRuntime] = []

    async def make(*, start: bool = True, **spec_options: Any) -> NamespaceRuntime:
        runtime_options = {
            k: spec_options.pop(k) for k in ("cgroup_host", "cgroup_parent") if k in spec_options
        }
        n = len(made)
        spec_options.setdefault("system_id", f"rt-test-{os.getpid()}-{n}")
        spec_options.setdefault("layers", (str(base_layer),))
        if "scratch" not in spec_options:
            scratch = tmp_path / f"scratch-{n}"
            scratch.mkdir()
            spec_options["scratch"] = str(scratch)
        rt = NamespaceRuntime(ContainerSpec(**spec_options), shim=shim, **runtime_options)
        made.append(rt)
        if start:
            await rt.start()
        return rt

    yield make
    for rt in made:
        async with asyncio.timeout(60):
            await rt.destroy()


@pytest_asyncio.fixture
async def container(make_runtime: MakeRuntime) -> NamespaceRuntime:
    return await make_runtime()
