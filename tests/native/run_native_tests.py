"""Build the bridge's C test natively (Linux, gcc) and run it.

usage: python tests/native/run_native_tests.py [--sanitize] [--cc CC] [--out-dir DIR]

1. generates the ``hb_call_*`` wrappers from ``_cffi_build/build_bridge.py``
   (the same text the cffi extension compiles);
2. builds ``libfakecore.so`` from ``tests/native/fakecore.c`` and the
   ``bridge_test`` executable from ``_cffi_build/bridge/{dispatcher,loader,
   platform}.c``, the wrappers, ``bridge_test.c`` and ``posix_os.c``;
3. runs it from the build directory (it dlopens the fake beside itself) and
   prints its output. Exit status: the test's, or 1 if a build step fails.

Without ``--sanitize``: ``-O2 -Wall -Wextra -Werror`` (the POSIX branch must
build warning-free). With it: AddressSanitizer + UBSan (every report fatal)
and LeakSanitizer at exit, both libraries instrumented.

The Windows build of the same test is ``tests/windows/wine_bridge.py``.
Paths are relative to this file, so it runs from any directory.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CFFI_BUILD = REPO / "_cffi_build"
INCLUDE = CFFI_BUILD / "include"
BRIDGE = CFFI_BUILD / "bridge"
BRIDGE_SOURCES = ("dispatcher.c", "loader.c", "platform.c")

BASE_CFLAGS = ["-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Wextra"]
PLAIN_CFLAGS = ["-O2", "-Werror"]
#: -O1 -g for usable reports; no -Werror: instrumentation changes what the
#: optimiser warns about, and the plain build already enforces warnings.
SANITIZE_CFLAGS = [
    "-O1",
    "-g",
    "-fsanitize=address,undefined",
    "-fno-omit-frame-pointer",
    "-fno-sanitize-recover=all",
]
#: Appended to any inherited options (later settings win).
ASAN_OPTIONS = "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=1"
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1"
LSAN_OPTIONS = "exitcode=1"
RUN_TIMEOUT = 300


def _call_wrappers() -> tuple[str, str]:
    """(prototypes, definitions) of hb_call_*, from the cffi builder itself."""
    spec = importlib.util.spec_from_file_location(
        "hcsaio_build_bridge", CFFI_BUILD / "build_bridge.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError("cannot load _cffi_build/build_bridge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    decls, defs = module.wrappers()
    return str(decls), str(defs)


def _run(cmd: list[str]) -> None:
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)


def build(out: Path, cc: str, sanitize: bool) -> Path:
    """Build libfakecore.so and bridge_test into out; return the executable."""
    out.mkdir(parents=True, exist_ok=True)
    decls, defs = _call_wrappers()
    (out / "hb_calls.h").write_text(
        "/* Generated from _cffi_build/build_bridge.py: the hb_call_* wrappers. */\n"
        '#ifndef HB_CALLS_H\n#define HB_CALLS_H\n#include "bridge.h"\n'
        f"{decls}\n#endif\n"
    )
    (out / "hb_calls.c").write_text(f'#include "bridge_internal.h"\n\n{defs}')
    cflags = [*BASE_CFLAGS, *(SANITIZE_CFLAGS if sanitize else PLAIN_CFLAGS)]
    cc_cmd = shlex.split(cc)
    _run(
        [*cc_cmd, *cflags, "-fPIC", "-shared", "-fvisibility=hidden", f"-I{INCLUDE}",
         "-o", str(out / "libfakecore.so"),
         str(HERE / "fakecore.c"), "-lpthread"]
    )  # fmt: skip
    exe = out / "bridge_test"
    sources = [
        *(BRIDGE / s for s in BRIDGE_SOURCES),
        out / "hb_calls.c",
        HERE / "bridge_test.c",
        HERE / "posix_os.c",
    ]
    _run(
        [*cc_cmd, *cflags, f"-I{INCLUDE}", f"-I{BRIDGE}", f"-I{out}", f"-I{HERE}", "-o", str(exe),
         *map(str, sources), "-ldl", "-lpthread"]
    )  # fmt: skip
    return exe


def run(exe: Path, sanitize: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if sanitize:
        for name, ours in (
            ("ASAN_OPTIONS", ASAN_OPTIONS),
            ("UBSAN_OPTIONS", UBSAN_OPTIONS),
            ("LSAN_OPTIONS", LSAN_OPTIONS),
        ):
            env[name] = f"{env[name]}:{ours}" if env.get(name) else ours
    print(f"+ {exe.name}{'  (ASan, UBSan, LSan)' if sanitize else ''}", flush=True)
    return subprocess.run(
        [str(exe)],
        cwd=exe.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def results(output: str) -> dict[str, int]:
    """The test's ``RESULT name=value`` lines."""
    found = {}
    for line in output.splitlines():
        if line.startswith("RESULT ") and "=" in line:
            name, _, value = line[len("RESULT ") :].partition("=")
            found[name.strip()] = int(value)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sanitize", action="store_true", help="ASan + UBSan + LSan build")
    parser.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    parser.add_argument("--out-dir", type=Path, help="build here and keep it (default: temp)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hcsaio-native-") as tmp:
        t0 = time.monotonic()
        try:
            exe = build((args.out_dir or Path(tmp)).resolve(), args.cc, args.sanitize)
        except subprocess.CalledProcessError as exc:
            print(f"build failed (exit {exc.returncode})", file=sys.stderr)
            return 1
        t1 = time.monotonic()
        try:
            proc = run(exe, args.sanitize)
        except subprocess.TimeoutExpired as exc:
            sys.stdout.write(_text(exc.stdout))
            sys.stderr.write(_text(exc.stderr))
            print(f"bridge_test timed out after {RUN_TIMEOUT} s", file=sys.stderr)
            return 1
        t2 = time.monotonic()
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    print(f"build {t1 - t0:.1f} s, run {t2 - t1:.1f} s, exit {proc.returncode}", flush=True)
    return 0 if proc.returncode == 0 else max(proc.returncode, 1)


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


if __name__ == "__main__":
    sys.exit(main())
