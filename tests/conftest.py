"""Suite-wide fixtures and guards.

The tests exercise the *installed* hcsaio (pytest runs with
``--import-mode=importlib`` and the repository root is not on sys.path);
the guard below fails loudly if a test run would import the source tree,
whose native parts may be missing or stale.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NATIVE_TESTS = REPO / "tests" / "native"
INCLUDE = REPO / "_cffi_build" / "include"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--hcs-live",
        action="store_true",
        default=False,
        help="run tests marked hcs_live against a real Windows HCS (they fail, not skip, without one)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--hcs-live"):
        return
    skip = pytest.mark.skip(reason="needs a real Windows HCS host; opt in with --hcs-live")
    for item in items:
        if "hcs_live" in item.keywords:
            item.add_marker(skip)


def pytest_sessionstart(session: pytest.Session) -> None:
    import hcsaio

    location = Path(hcsaio.__file__).resolve()
    if (
        location == REPO / "hcsaio" / "__init__.py"
        and os.environ.get("HCSAIO_ALLOW_SOURCE_TREE") != "1"
    ):
        raise pytest.UsageError(
            f"hcsaio was imported from the source tree ({location}); install it "
            "(pip install .) and run pytest from an environment that imports the installed copy"
        )


def sanitizer_flags() -> list[str]:
    if os.environ.get("HCSAIO_SANITIZE") == "1":
        return ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"]
    return ["-O2"]


def build_shared_library(source: Path, output: Path) -> Path:
    """Compile a test-only C library with the system compiler."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cmd = [
        *cc.split(),
        "-std=gnu11",
        "-shared",
        "-fPIC",
        "-fvisibility=hidden",
        "-Wall",
        "-Wextra",
        "-Werror",
        f"-I{INCLUDE}",
        *sanitizer_flags(),
        "-o",
        str(output),
        str(source),
        "-lpthread",
    ]
    subprocess.run(cmd, check=True)
    return output


@pytest.fixture(scope="session")
def fakecore_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if sys.platform == "win32":
        pytest.skip("the fake computecore is built with the POSIX toolchain")
    out = tmp_path_factory.mktemp("fakecore") / "libfakecore.so"
    return build_shared_library(NATIVE_TESTS / "fakecore.c", out)
