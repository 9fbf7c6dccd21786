"""The unprivileged mode is tested too: as root, run the ABI suite again as
user nobody (service and client both unprivileged). As another user the
whole suite already runs unprivileged and this test has nothing to add."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import HERE, is_root

NOBODY = (65534, 65534)
SUITE = [
    "test_abi_operations.py",
    "test_abi_systems.py",
    "test_abi_processes.py",
    "test_abi_events.py",
    "test_host_mode.py",
    "test_disconnect.py",
    "test_service.py",
    "test_runtime_choice.py",
    "test_launcher.py",
    "test_fork.py",
    "test_host_runtime.py",
    "test_scale.py",
]


def as_nobody() -> list[str]:
    command = ["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}", "--clear-groups"]
    # Can nobody run this interpreter, and can it start itself again (as the
    # suite does to start services)?
    nested = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'pass'], check=True)"
    probe = subprocess.run([*command, sys.executable, "-c", nested], capture_output=True)
    if probe.returncode == 0:
        return command
    # The interpreter lives where nobody cannot reach it (a virtualenv over a
    # Python in root's 0700 home, as on some development machines): grant
    # nothing but the right to read and traverse. The runs stay non-root
    # without CAP_SYS_ADMIN, so the service still takes the unprivileged path.
    return [*command, "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


@pytest.mark.skipif(not is_root(), reason="already unprivileged: the whole suite runs as this user")
def test_suite_as_nobody() -> None:
    # Under /tmp, not $TMPDIR: nox points that deep inside the checkout, and
    # the sockets made below it must fit AF_UNIX's 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="hcsemu-nobody-", dir="/tmp"))
    try:
        os.chown(base, *NOBODY)
        env = dict(os.environ, HOME=str(base), PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(base))
        env.pop("HCSAIO_EMULATOR_SOCKET", None)
        command = [
            *as_nobody(),
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-m",
            "not slow and not privileged",
            "--basetemp",
            str(base / "pytest"),
            *(str(HERE / name) for name in SUITE),
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=base, timeout=900
        )
        summary = result.stdout.strip().splitlines()[-1:] if result.stdout else []
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
        assert summary and "passed" in summary[0], result.stdout[-2000:]
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)
