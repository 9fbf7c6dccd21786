"""The layer rules at run time, where import-linter cannot look.

import-linter (``nox -s lint``, contracts in ``.importlinter``) checks the
source; these tests check what an import actually loads: the lazy facade must
keep ``import hcsaio.emulator`` and ``import hcsaio.schema`` free of the client,
and only ``hcsaio._native`` may touch the compiled bridge (grimp cannot see a
compiled module, so the contract cannot say it).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import hcsaio

PACKAGE = Path(hcsaio.__file__).resolve().parent
CLIENT_PREFIXES = (
    "hcsaio._core",
    "hcsaio._native",
    "hcsaio.compute",
    "hcsaio._bridge",
    "hcsaio.errors",
    "hcsaio._errors_table",
    "hcsaio.schema",
    "hcsaio._cli",
)


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return {m for m in out.split() if m.startswith("hcsaio")}


@pytest.mark.parametrize(
    ("statement", "forbidden"),
    [
        ("import hcsaio.emulator", CLIENT_PREFIXES),
        ("import hcsaio.emulator.__main__", CLIENT_PREFIXES),
        ("import hcsaio.schema", tuple(p for p in CLIENT_PREFIXES if p != "hcsaio.schema")),
        ("import hcsaio", CLIENT_PREFIXES),
    ],
)
def test_an_import_loads_only_its_tier(statement: str, forbidden: tuple[str, ...]) -> None:
    loaded = _loaded_after(statement)
    leaked = sorted(m for m in loaded if m.startswith(forbidden))
    assert not leaked, f"{statement!r} loaded {leaked}"


def test_the_facade_still_resolves_every_public_name() -> None:
    for name in hcsaio.__all__:
        assert getattr(hcsaio, name) is not None, name
    assert set(hcsaio.__all__) <= set(dir(hcsaio))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hcsaio.nope  # noqa: B018


def test_only_native_imports_the_bridge() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "_native":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(a.name for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == "_bridge" or n.endswith("._bridge") for n in names):
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, offenders
