"""Build glue only: the metadata lives in pyproject.toml.

Builds three native artefacts:

* ``hcsaio._bridge``: the cffi callback bridge (``_cffi_build/build_bridge.py``);
* ``hcsaio/_hcsemu*.so`` (Linux): libhcsemu, the emulator's computecore ABI.
  It is a plain shared library that hcsaio (or any C program) opens with
  dlopen, built as an extension only so that setuptools compiles and ships
  it;
* ``hcsaio/emulator/hcsemu-shim`` (Linux): the per-container helper
  executable the emulator service spawns to enter namespaces.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
HCSEMU = Path("_cffi_build") / "hcsemu"
SHIM = Path("_cffi_build") / "shim"
# HCSAIO_BUILD_EMULATOR=0 builds the bridge only (for quick bridge work).
LINUX = sys.platform.startswith("linux") and os.environ.get("HCSAIO_BUILD_EMULATOR", "1") != "0"


def _sanitize_flags() -> list[str]:
    if os.environ.get("HCSAIO_SANITIZE") == "1":
        return ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
    return []


def _c_sources(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.c")) if (ROOT / folder).is_dir() else []


def _extensions() -> list[Extension]:
    sources = _c_sources(HCSEMU)
    if not LINUX or not sources:
        return []
    flags = ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"]
    return [
        Extension(
            "hcsaio._hcsemu",
            sources=sources,
            include_dirs=["_cffi_build/include", str(HCSEMU)],
            define_macros=[("_GNU_SOURCE", "1")],
            extra_compile_args=flags + _sanitize_flags(),
            extra_link_args=["-pthread", *_sanitize_flags()],
        )
    ]


class BuildNative(build_ext):
    """build_ext that also links the emulator's shim executable."""

    def get_export_symbols(self, ext: Extension) -> list[str]:
        # libhcsemu is dlopen()ed, never imported: it has no PyInit_ symbol.
        if ext.name == "hcsaio._hcsemu":
            return []
        return super().get_export_symbols(ext)

    def run(self) -> None:
        super().run()
        sources = _c_sources(SHIM)
        if LINUX and sources:
            self._build_shim(sources)

    def _build_shim(self, sources: list[str]) -> None:
        out_dir = Path(self.build_lib) / "hcsaio" / "emulator"
        if self.inplace:
            out_dir = ROOT / "hcsaio" / "emulator"
        out_dir.mkdir(parents=True, exist_ok=True)
        objects = self.compiler.compile(
            sources,
            output_dir=self.build_temp,
            include_dirs=["_cffi_build/include", str(SHIM)],
            macros=[("_GNU_SOURCE", "1")],
            extra_postargs=["-std=gnu11", "-Wall", "-Wextra", "-O2", *_sanitize_flags()],
        )
        self.compiler.link_executable(
            objects, "hcsemu-shim", output_dir=str(out_dir), extra_postargs=_sanitize_flags()
        )


setup(
    cffi_modules=["_cffi_build/build_bridge.py:ffibuilder"],
    ext_modules=_extensions(),
    cmdclass={"build_ext": BuildNative},
)
