"""libhcsemu under sanitizers: ``c/abi_stress.c`` compiled together with the
library's sources with AddressSanitizer + UBSan (leak detection on, which a
Python host cannot offer) and with ThreadSanitizer, run against a service,
and once more while the service is killed under it."""

from __future__ import annotations

import os
import platform
import select
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Service

REPO = Path(__file__).resolve().parents[2]
SANITIZERS = {
    "address": [
        "-fsanitize=address,undefined",
        "-fno-omit-frame-pointer",
        "-fno-sanitize-recover=undefined",
    ],
    "thread": ["-fsanitize=thread"],
}
RUNTIME_OPTIONS = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:strict_string_checks=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1",
}


@pytest.fixture(scope="module", params=sorted(SANITIZERS))
def stress(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.fail("a C compiler is needed to build the sanitizer runs")
    output = tmp_path_factory.mktemp("sanitize") / f"abi_stress_{request.param}"
    sources = sorted(str(p) for p in (REPO / "_cffi_build" / "hcsemu").glob("*.c"))
    command = [
        compiler, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-g", "-O1", "-D_GNU_SOURCE", "-pthread",
        f"-I{REPO / '_cffi_build' / 'include'}", f"-I{REPO / '_cffi_build' / 'hcsemu'}",
        *SANITIZERS[request.param], "-o", str(output),
        str(Path(__file__).parent / "c" / "abi_stress.c"), *sources,
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=300)
    # ThreadSanitizer wants a predictable address space on some kernels.
    prefix = ["setarch", platform.machine(), "-R"] if request.param == "thread" else []
    return [*prefix, str(output)]


def environment(service: Service) -> dict[str, str]:
    env = dict(os.environ, HCSAIO_EMULATOR_SOCKET=service.socket, **RUNTIME_OPTIONS)
    env.pop("LD_PRELOAD", None)  # a sanitize session preloads ASan for Python, not for this
    return env


def test_concurrent_work_is_clean(stress: list[str], service: Service) -> None:
    result = subprocess.run(
        [*stress, "work"], capture_output=True, text=True, env=environment(service), timeout=600
    )
    assert result.returncode == 0, result.stderr[-8000:]


def test_disconnect_is_clean(stress: list[str], service: Service) -> None:
    child = subprocess.Popen(
        [*stress, "disconnect"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(service),
    )
    try:
        assert child.stdout is not None
        assert select.select([child.stdout], [], [], 120)[0], "no pending operations in time"
        assert child.stdout.readline() == "pending\n"
        service.kill()
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr[-8000:]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
