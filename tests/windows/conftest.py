"""Windows fidelity checks that run on Linux: mingw-w64 cross-builds and Wine.

The tools are optional on a developer machine (the tests skip without
them) and mandatory in CI: ``nox -s windows-abi`` installs them and sets
``HCSAIO_REQUIRE_WINDOWS_TOOLS=1``, which turns every such skip into a
failure, so CI can never pass by not running these tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "_cffi_build" / "include"
TOOLS = REPO / "tools"

MINGW_CC = os.environ.get("MINGW_CC", "x86_64-w64-mingw32-gcc")


def _required() -> bool:
    return os.environ.get("HCSAIO_REQUIRE_WINDOWS_TOOLS") == "1"


def missing_tool(what: str) -> None:
    """Skip, or fail when CI says the tool must be there."""
    message = f"{what} is not installed (apt-get install mingw-w64-x86-64-dev gcc-mingw-w64-x86-64 wine64)"
    if _required():
        pytest.fail(message + "; HCSAIO_REQUIRE_WINDOWS_TOOLS=1 forbids skipping")
    pytest.skip(message)


@pytest.fixture(scope="session")
def mingw_cc() -> str:
    if shutil.which(MINGW_CC) is None:
        missing_tool(MINGW_CC)
    return MINGW_CC


def find_wine() -> str | None:
    """wine64 where Debian puts it (not always on PATH), else wine."""
    for candidate in (
        os.environ.get("WINE"),
        shutil.which("wine64"),
        "/usr/lib/wine/wine64",
        shutil.which("wine"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def wine() -> str:
    found = find_wine()
    if found is None:
        missing_tool("wine64")
    assert found is not None
    return found
