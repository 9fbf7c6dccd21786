"""Development and CI sessions.

    nox -s tests      the whole test suite against an installed wheel
    nox -s lint       ruff check + ruff format --check
    nox -s mypy       mypy --strict on the package (Linux and win32)
    nox -s sanitize   C and bridge tests with AddressSanitizer + UBSan
    nox -s gen-check  regenerate the schema modules, fail on any diff
    nox -s windows-abi  declarations vs the mingw SDK headers, cross-build, Wine
    nox -s bench      side-by-side benchmarks (ratios, not timings)

Every session installs what it needs into its own virtualenv from the
repository's files, so a fresh machine with Python 3.11 and a C compiler is
enough (the Windows checks also apt-install mingw-w64 and wine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
nox.options.sessions = ["tests", "lint", "mypy"]
nox.options.reuse_existing_virtualenvs = True


def _install_package(session: nox.Session, *extras: str, env: dict[str, str] | None = None) -> None:
    """Build and install hcsaio itself (never an editable install: the
    tests must import what a user would get)."""
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("setuptools>=68", "wheel", "cffi>=1.17")
    # A local path is rebuilt and reinstalled on every run, so a reused
    # virtualenv never tests stale native code.
    session.install("--no-build-isolation", spec, env=env)


def _pytest(session: nox.Session, *args: str, env: dict[str, str] | None = None) -> None:
    """pytest from a scratch directory: the tests start interpreters of their
    own (``python -m hcsaio.emulator``, ``python -c``), which put their
    working directory first on sys.path; in the checkout that would be the
    source tree, whose native modules are not built.

    TMPDIR is a fresh short directory, not nox's ``.nox/<session>/tmp``:
    the emulator tests put Unix sockets under pytest's tmp_path, and below a
    deep checkout (CI's, say) those paths outgrow AF_UNIX's 108 bytes."""
    session.chdir(session.create_tmp())
    short_tmp = tempfile.mkdtemp(prefix="hcsaio-nox-", dir="/tmp" if os.name == "posix" else None)
    try:
        session.run(
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(ROOT),
            "-p",
            "no:cacheprovider",
            *args,
            env={"TMPDIR": short_tmp, **(env or {})},
        )
    finally:
        shutil.rmtree(short_tmp, ignore_errors=True)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite. Extra arguments go to pytest. Every extra is
    installed, so no test of an optional feature (--plot) skips in CI."""
    _install_package(session, "test", "bench", "plot", "storage")
    _pytest(session, *_test_args(session.posargs))


def _test_args(posargs: list[str]) -> list[str]:
    """pytest runs from a scratch directory, so test paths given on the
    command line (``nox -s tests -- tests/api/test_x.py::name``) are resolved
    against the checkout; without any, the whole suite runs."""
    args, paths = [], []
    for arg in posargs:
        candidate = ROOT / arg.split("::", 1)[0]
        if not arg.startswith("-") and arg.startswith("tests") and candidate.exists():
            paths.append(str(ROOT / arg))
        else:
            args.append(arg)
    return [*args, *(paths or [str(ROOT / "tests")])]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the layer rules of ``.importlinter`` (import-linter reads the
    source tree; nothing needs building)."""
    session.install("ruff>=0.6", "import-linter>=2.1")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": str(ROOT)})


@nox.session
def mypy(session: nox.Session) -> None:
    _install_package(session, "test", "bench")
    session.install("mypy>=1.11")
    session.run("mypy", "--strict", "-p", "hcsaio")
    # The Windows code paths (System32 loading, Proactor stdio, socket
    # wake-up) type-check as win32 too; the emulator is Linux-only.
    session.run(
        "mypy", "--config-file", str(ROOT / "tests" / "windows" / "mypy_win32.ini"), "-p", "hcsaio"
    )
    session.run(
        "mypy",
        "--strict",
        str(ROOT / "tools" / "gen_schema.py"),
        str(ROOT / "benchmarks" / "bench_schema.py"),
    )


@nox.session(name="gen-check")
def gen_check(session: nox.Session) -> None:
    """The generated schema modules match the shared data and the generator."""
    session.install("msgspec>=0.19", "ruff>=0.6")
    session.run("python", "tools/gen_schema.py", "--check")


def _asan_runtime() -> str:
    """The ASan runtime the compiler links, to preload into an uninstrumented
    Python (the extension modules are instrumented, the interpreter is not)."""
    cc = os.environ.get("CC", "gcc")
    out = subprocess.run(
        [cc, "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@nox.session
def sanitize(session: nox.Session) -> None:
    """Build the bridge, libhcsemu and the test fakes with -fsanitize=address,undefined
    and run the native tests and the bridge tests under them."""
    _install_package(session, "test", env={"HCSAIO_SANITIZE": "1"})
    asan = _asan_runtime()
    run_env = {
        "HCSAIO_SANITIZE": "1",
        "LD_PRELOAD": asan,
        # CPython itself is not instrumented and keeps memory until exit, so
        # leak detection is off for Python runs; fds, handles and result
        # strings are checked by the tests' own counters instead, and the
        # pure-C tests below run with leak detection on.
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:strict_string_checks=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    }
    # The bridge's own C test, leak detection on (pure C, no CPython).
    session.run("python", str(ROOT / "tests" / "native" / "run_native_tests.py"), "--sanitize")
    _pytest(
        session, "-m", "not slow", str(ROOT / "tests" / "bridge"), *session.posargs, env=run_env
    )
    _pytest(session, "-m", "not slow", str(ROOT / "tests" / "emulator"), env=run_env)


@nox.session
def bench(session: nox.Session) -> None:
    """Side-by-side benchmarks; pass --quick for the one-minute version."""
    _install_package(session, "test", "bench", "plot")
    session.chdir(session.create_tmp())  # import the installed hcsaio, not the checkout
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs)


def _apt_install(session: nox.Session, *packages: str) -> None:
    missing = [
        p
        for p in packages
        if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0
    ]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        session.error(f"need the Debian packages {missing} and apt-get is not available")
    session.run("apt-get", "update", "-qq", external=True)
    session.run(
        "apt-get",
        "install",
        "-y",
        "-qq",
        *missing,
        external=True,
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )


WINDOWS_TOOLS = ("mingw-w64-x86-64-dev", "gcc-mingw-w64-x86-64", "wine64")


@nox.session(name="windows-abi")
def windows_abi(session: nox.Session) -> None:
    """Windows fidelity on Linux: hcsaio's HCS/HCN/storage declarations
    against the mingw-w64 SDK headers, the bridge cross-built with -Werror
    and its C test under Wine, the Windows stdio classes. apt-installs
    mingw-w64 and Wine when missing (CI is root)."""
    _apt_install(session, *WINDOWS_TOOLS)
    _install_package(session, "test")
    session.run("python", str(ROOT / "tools" / "gen_abi_check.py"))
    session.run("python", str(ROOT / "tests" / "windows" / "wine_bridge.py"))
    _pytest(
        session,
        "-ra",
        str(ROOT / "tests" / "windows"),
        *session.posargs,
        env={"HCSAIO_REQUIRE_WINDOWS_TOOLS": "1"},
    )
