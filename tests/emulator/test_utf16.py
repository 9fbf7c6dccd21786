"""The UTF-16 -> UTF-8 conversion the bridge and libhcsemu share
(``_cffi_build/include/hb_utf16.h``): ``c/utf16_check.c`` compiled with
libhcsemu's ``strings.c`` (under ASan and UBSan) checks the shared code
and that libhcsemu converts exactly as it does; the bridge and libhcsemu
no longer carry copies of their own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CFFI_BUILD = REPO / "_cffi_build"


def test_the_shared_conversion(tmp_path: Path) -> None:
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.fail("a C compiler is needed for the conversion check")
    output = tmp_path / "utf16_check"
    command = [
        compiler, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-g", "-O1", "-D_GNU_SOURCE",
        "-pthread", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
        f"-I{CFFI_BUILD / 'include'}", f"-I{CFFI_BUILD / 'hcsemu'}", "-o", str(output),
        str(Path(__file__).parent / "c" / "utf16_check.c"), str(CFFI_BUILD / "hcsemu" / "strings.c"),
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    result = subprocess.run([str(output)], capture_output=True, text=True, env=env, timeout=60)
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr


def test_one_copy_of_the_encoder() -> None:
    # the UTF-8 lead byte of a 4-byte sequence is built in hb_utf16.h only
    encoder = re.compile(r"0xF0\s*\|")
    users = [CFFI_BUILD / "bridge" / "dispatcher.c", CFFI_BUILD / "hcsemu" / "strings.c"]
    for source in users:
        text = source.read_text()
        assert '#include "hb_utf16.h"' in text, source
        assert not encoder.search(text), f"{source} encodes UTF-8 itself"
    assert encoder.search((CFFI_BUILD / "include" / "hb_utf16.h").read_text())
    for header in (CFFI_BUILD / "bridge" / "bridge.h", CFFI_BUILD / "include" / "hcs_defs.h"):
        assert "hb_utf16.h" not in header.read_text(), f"{header} goes to cffi's cdef"
