"""The ``hcsaio`` command line, run as a user runs it: a subprocess.

Every call is ``python -m hcsaio ...`` from a temporary directory (never the
repository root, where ``-m`` would import the source tree) against ONE
emulator service shared by the whole session, so a container created by
one call is seen by the next (``list``, ``inspect``, ``events`` ...).
Tests give their containers unique ids and remove them.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .cli_helpers import (
    Cli,
    cli_env,
    run_cli,
    short_tmp,
    start_service,
    stop_service,
)

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def service_socket() -> Iterator[Path]:
    directory = short_tmp("hcsaio-cli-")
    process, path = start_service(directory)
    try:
        yield path
    finally:
        stop_service(process)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def env(service_socket: Path, tmp_path: Path) -> dict[str, str]:
    return cli_env(service_socket, tmp_path)


@pytest.fixture
def cli(env: dict[str, str], tmp_path: Path) -> Cli:
    """``cli("list", "--json")`` runs ``python -m hcsaio list --json``."""

    def run(*args: str, **options: object) -> subprocess.CompletedProcess[str]:
        options.setdefault("env", env)
        return run_cli(*args, cwd=tmp_path, **options)  # type: ignore[arg-type]

    return run


@pytest.fixture
def new_id() -> Callable[[str], str]:
    def make(prefix: str = "cli") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def detached(cli: Cli, new_id: Callable[[str], str]) -> Iterator[Callable[..., str]]:
    """Start ``run -d`` containers; whatever is left is terminated after the test."""
    started: list[str] = []

    def start(*options: str, command: tuple[str, ...] = ("sleep", "600")) -> str:
        name = new_id("bg")
        result = cli("run", "-d", "--name", name, *options, "--", *command)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == name
        started.append(name)
        return name

    yield start
    if started:
        cli("terminate", *started)
