"""Building the bridge benchmark's native pieces at benchmark time.

* the fake computecore (``tests/native/fakecore.c``), the scripted test
  double hcsaio's bridge tests use: 8 threads completing operations;
* ``_hcsaio_bench_native``, a cffi API-mode module from
  ``native/bench_native.c``: the naive ``def_extern`` baseline, the C-only
  limit and the callback-time stamp wrapper.

Both go to a cache directory keyed by a hash of their inputs (and the
interpreter), so only the first run pays for the compiler.
``HCSAIO_BENCH_CACHE`` overrides its location.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
NATIVE = Path(__file__).resolve().parent / "native"
INCLUDE = REPO / "_cffi_build" / "include"
FAKECORE = REPO / "tests" / "native" / "fakecore.c"
MODULE = "_hcsaio_bench_native"


def cache_root() -> Path:
    configured = os.environ.get("HCSAIO_BENCH_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hcsaio-bench"


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:16]


def _inputs() -> list[bytes]:
    headers = sorted(INCLUDE.glob("*.h"))
    return [p.read_bytes() for p in headers]


def _publish(built: Path, final: Path) -> None:
    """Move a finished build into place atomically (parallel runs may race)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(built, final)


def fakecore() -> Path:
    """The fake computecore shared library, built if needed."""
    key = _digest(FAKECORE.read_bytes(), *_inputs())
    final = cache_root() / f"fakecore-{key}" / "libfakecore.so"
    if final.exists():
        return final
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    with tempfile.TemporaryDirectory(dir=_ensure(cache_root())) as tmp:
        out = Path(tmp) / "libfakecore.so"
        cmd = [
            *cc.split(),
            "-std=gnu11",
            "-O2",
            "-shared",
            "-fPIC",
            "-fvisibility=hidden",
            f"-I{INCLUDE}",
            "-o",
            str(out),
            str(FAKECORE),
            "-lpthread",
        ]
        subprocess.run(cmd, check=True)
        _publish(out, final)
    return final


def native_module() -> ModuleType:
    """The compiled ``_hcsaio_bench_native`` module, built if needed."""
    source = (NATIVE / "bench_native.c").read_text()
    cdef = (NATIVE / "bench_native.cdef").read_text()
    tag = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    key = _digest(source.encode(), cdef.encode(), tag.encode(), *_inputs())
    directory = cache_root() / f"native-{key}"
    found = sorted(directory.glob(f"{MODULE}*.so")) if directory.is_dir() else []
    if not found:
        found = [_compile(source, cdef, directory)]
    spec = importlib.util.spec_from_file_location(MODULE, found[0])
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    spec.loader.exec_module(module)
    return module


def _compile(source: str, cdef: str, directory: Path) -> Path:
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(
        MODULE,
        source,
        include_dirs=[str(INCLUDE)],
        define_macros=[("_GNU_SOURCE", "1")],
        extra_compile_args=["-std=gnu11", "-O2"],
        libraries=["dl", "pthread"],
    )
    with tempfile.TemporaryDirectory(dir=_ensure(cache_root())) as tmp:
        built = Path(ffi.compile(tmpdir=tmp, verbose=False))
        final = directory / built.name
        _publish(built, final)
    shutil.rmtree(directory / "build", ignore_errors=True)
    return final


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
