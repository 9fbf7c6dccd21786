"""tools/gen_schema.py: the committed modules are its output, deterministically, ruff-clean.

These tests need the repository checkout (the generator is not part of the package) and the
shared data; they skip otherwise.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "tools" / "gen_schema.py"


def shared_schema_dir() -> Path:
    shared = os.environ.get("HCSAIO_SHARED_DIR")
    return (Path(shared) if shared else REPO.parent / "shared") / "schema"


pytestmark = [
    pytest.mark.skipif(not GENERATOR.is_file(), reason="needs the repository checkout"),
    pytest.mark.skipif(
        not (shared_schema_dir() / "hcs-schema2.json").is_file(), reason="needs ../shared/schema"
    ),
]


def run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--schema-dir", str(shared_schema_dir()), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_schema", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def test_committed_modules_are_up_to_date() -> None:
    result = run_generator("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_output_is_deterministic() -> None:
    generator = load_generator()
    first = generator.generate(shared_schema_dir())
    second = generator.generate(shared_schema_dir())
    assert first == second
    assert {p.name for p in first} >= {"v2.py", "v1.py", "hcn.py", "hns.py", "_v2_container.py"}


def test_check_reports_drift_with_a_diff(tmp_path: Path) -> None:
    changed = tmp_path / "schema"
    shutil.copytree(shared_schema_dir(), changed)
    records = json.loads((changed / "hcs-schema2.json").read_text("utf-8"))
    memory = next(r for r in records if r["name"] == "Memory")
    memory["fields"][0]["json"] = "SizeInMiB"
    (changed / "hcs-schema2.json").write_text(json.dumps(records), "utf-8")
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--schema-dir", str(changed), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert '+    size_in_mb: UInt64 = msgspec.field(default=0, name="SizeInMiB")' in result.stdout
    assert "out of date" in result.stdout


def ruff() -> list[str] | None:
    if shutil.which("ruff"):
        return ["ruff"]
    probe = subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True)
    return [sys.executable, "-m", "ruff"] if probe.returncode == 0 else None


def test_generated_modules_are_ruff_clean() -> None:
    command = ruff()
    if command is None:
        pytest.skip("ruff is not installed")
    files = [str(p) for p in load_generator().generate(shared_schema_dir())]
    options = ["--line-length", "100", "--target-version", "py311"]
    formatted = subprocess.run(
        [*command, "format", "--check", *options, *files], capture_output=True, text=True
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    checked = subprocess.run(
        [
            *command,
            "check",
            "--select",
            "E,F,W,I,B,UP,SIM,RUF",
            "--ignore",
            "E501",
            *options,
            *files,
        ],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
