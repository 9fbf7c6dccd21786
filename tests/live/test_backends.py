"""The live suite's own plumbing, checked on any machine: the layer chain
from an image folder, the configuration errors, and the guarantee that an
opted-in run without a Windows HCS fails instead of skipping."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .backends import LiveConfigError, layer_chain, windows_backend

REPO = Path(__file__).resolve().parents[2]


def test_layer_chain_is_topmost_first(tmp_path: Path) -> None:
    top = tmp_path / "top"
    top.mkdir()
    parents = [
        r"C:\ProgramData\docker\windowsfilter\mid",
        r"C:\ProgramData\docker\windowsfilter\base",
    ]
    (top / "layerchain.json").write_text(json.dumps(parents), encoding="utf-8")
    assert layer_chain(top) == [str(top), *parents]


def test_base_layer_without_chain_file(tmp_path: Path) -> None:
    assert layer_chain(tmp_path) == [str(tmp_path)]


def test_bad_chain_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "layerchain.json").write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(LiveConfigError, match="not a JSON list"):
        layer_chain(tmp_path)


def test_missing_configuration_names_the_variables(tmp_path: Path) -> None:
    with pytest.raises(LiveConfigError, match="HCSAIO_LIVE_IMAGE and HCSAIO_LIVE_SCRATCH"):
        windows_backend({})
    with pytest.raises(LiveConfigError, match="not a directory"):
        windows_backend({"HCSAIO_LIVE_IMAGE": str(tmp_path / "nope"), "HCSAIO_LIVE_SCRATCH": "x"})
    backend = windows_backend(
        {"HCSAIO_LIVE_IMAGE": str(tmp_path), "HCSAIO_LIVE_SCRATCH": r"\\?\Volume{x}\ "}
    )
    storage = backend.document().container.storage
    assert storage is not None
    assert storage.layers is not None
    assert [layer.path for layer in storage.layers] == [str(tmp_path)]


@pytest.mark.skipif(
    sys.platform == "win32", reason="this host may have HCS; meaningful only without it"
)
def test_opted_in_run_without_hcs_fails_not_skips(tmp_path: Path) -> None:
    """``pytest --hcs-live`` on a host without computecore.dll (any Linux host)
    must exit non-zero with the Windows runs reported as failures."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--hcs-live",
            "-m",
            "hcs_live",
            "-q",
            "-k",
            "test_missing_system_is_not_exist",
            str(REPO / "tests" / "live" / "test_end_to_end.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    # A failing guard fixture is reported as an error: either way, not a skip.
    assert "1 failed" in output or "1 error" in output, output
    assert "skipped" not in output, output
    assert "needs a Windows host with HCS" in output, textwrap.shorten(output, 2000)
