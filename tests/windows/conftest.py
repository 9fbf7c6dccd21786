"""Windows fidelity checks that run on Linux: mingw-w64 cross-builds and Wine.

The tools are optional on a developer machine (the tests skip without
them) and mandatory in CI: ``nox -s windows-abi`` installs them and sets
``HCSAIO_REQUIRE_WINDOWS_TOOLS=1``, which turns every such skip into a
failure, so CI can never pass by not running these tests.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

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


@functools.cache
def _wine_runner() -> ModuleType:
    """tests/windows/wine_bridge.py (a script, not on sys.path), loaded once:
    its build and run steps for test_wine_bridge.py, its find_wine here."""
    spec = importlib.util.spec_from_file_location(
        "hcsaio_wine_bridge", Path(__file__).resolve().parent / "wine_bridge.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def wine() -> str:
    found: str | None = _wine_runner().find_wine()
    if found is None:
        missing_tool("wine64")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def wine_bridge() -> ModuleType:
    """tests/windows/wine_bridge.py, the runner of the bridge's Wine test."""
    return _wine_runner()
