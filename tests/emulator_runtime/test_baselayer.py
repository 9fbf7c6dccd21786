"""make_base_layer builds a usable root filesystem from the host, once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hcsaio.emulator.runtimes._baselayer import STAMP, make_base_layer


def test_contents(base_layer: Path) -> None:
    for tool in ("bin/sh", "usr/bin/env", "usr/bin/sleep", "usr/bin/cat", "usr/bin/true",
                 "usr/bin/false", "usr/bin/python3"):  # fmt: skip
        assert os.path.lexists(base_layer / tool), tool
    passwd = (base_layer / "etc" / "passwd").read_text()
    assert passwd.startswith("root:x:0:0:")
    assert "nobody:x:65534:65534:" in passwd
    assert "root:x:0:" in (base_layer / "etc" / "group").read_text()
    assert (base_layer / "tmp").stat().st_mode & 0o1777 == 0o1777
    for mount_point in ("proc", "sys", "dev"):
        assert (base_layer / mount_point).is_dir()
    # the dynamic loader the binaries name is there (through the layer's symlinks)
    interp = subprocess.run(["readelf", "-l", "/bin/sh"], capture_output=True, text=True).stdout
    if "interpreter:" in interp:
        path = interp.split("interpreter: ")[1].split("]")[0]
        assert os.path.exists(base_layer / path.lstrip("/")), path


def test_second_build_is_a_cheap_no_op(base_layer: Path) -> None:
    stamp = (base_layer / STAMP).read_text()
    started = time.monotonic()
    assert make_base_layer(base_layer) == base_layer
    assert time.monotonic() - started < 2  # one interpreter check, no copying
    assert (base_layer / STAMP).read_text() == stamp


def test_an_unfinished_layer_is_completed(tmp_path: Path, base_layer: Path) -> None:
    layer = make_base_layer(tmp_path / "layer")
    (layer / STAMP).unlink()
    (layer / "usr" / "bin" / "cat").unlink()
    make_base_layer(layer)
    assert (layer / "usr" / "bin" / "cat").exists()
    assert (layer / STAMP).exists()


@pytest.mark.privileged
def test_runs_a_shell_and_python(base_layer: Path) -> None:
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    out = subprocess.run(
        [chroot, str(base_layer), "/bin/sh", "-c", "echo $((6*7)); python3 -c 'print(1)'; id -un"],
        capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.stdout.split() == ["42", "1", "root"]


def test_command_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hcsaio.emulator.runtimes._baselayer", str(tmp_path / "cli-layer")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == str(tmp_path / "cli-layer")
    assert (tmp_path / "cli-layer" / STAMP).exists()
