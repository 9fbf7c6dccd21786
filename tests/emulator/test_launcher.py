"""The launcher hcsaio's backend loader uses: the library path, the private
service (started once, stopped at exit, never orphaned), fork."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hcsaio.emulator import _launcher

from .procs import alive


def run_python(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, **(env or {}))
    environment.pop("HCSAIO_EMULATOR_SOCKET", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


def test_library_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_launcher.ENV_LIBRARY, raising=False)
    path = _launcher.library_path()
    assert "hcsemu" in Path(path).name and Path(path).is_file()
    monkeypatch.setenv(_launcher.ENV_LIBRARY, "/custom/libhcsemu-asan.so")
    assert _launcher.library_path() == "/custom/libhcsemu-asan.so"


def test_a_configured_socket_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    # (This process may own a private service already, started by other
    # tests through hcsaio: it must be neither replaced nor stopped here.)
    private = _launcher._private
    monkeypatch.setenv(_launcher.ENV_SOCKET, "/run/shared/hcs.sock")
    assert _launcher.ensure_service() == "/run/shared/hcs.sock"
    assert _launcher._private is private  # no service started for it
    assert os.environ[_launcher.ENV_SOCKET] == "/run/shared/hcs.sock"


def test_private_service_lifecycle() -> None:
    result = run_python(
        """
        import json, os, threading
        from hcsaio.emulator import _launcher
        from hcsaio.emulator.wire._client import ServiceClient
        paths = []
        threads = [threading.Thread(target=lambda: paths.append(_launcher.ensure_service())) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        assert len(set(paths)) == 1, paths
        path = paths[0]
        assert os.environ["HCSAIO_EMULATOR_SOCKET"] == path
        assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
        with ServiceClient(path) as client:
            pid = client.status()["Pid"]
        print(json.dumps({"path": path, "pid": pid}))
        """
    )
    assert result.returncode == 0, result.stderr
    started = json.loads(result.stdout)
    # atexit stopped it and removed its directory.
    assert not alive(started["pid"])
    assert not Path(started["path"]).parent.exists()


def test_the_service_dies_with_its_user_even_by_sigkill() -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from hcsaio.emulator import _launcher; import sys, time;"
            "print(_launcher.ensure_service(), _launcher._private.process.pid, flush=True);"
            "time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "HCSAIO_EMULATOR_SOCKET"},
    )
    try:
        assert child.stdout is not None
        path, service_pid = child.stdout.readline().split()
        assert alive(int(service_pid))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        # No atexit ran: the lifeline's EOF alone stops the service.
        fd = os.pidfd_open(int(service_pid))
        try:
            import select

            assert select.select([fd], [], [], 60)[0], "the service outlived its user"
        finally:
            os.close(fd)
        assert not os.path.exists(path)  # it removed its socket on the way out
        os.rmdir(os.path.dirname(path))  # the directory is the (dead) client's to remove
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_forked_child_uses_but_does_not_own_the_service() -> None:
    result = run_python(
        """
        import os, sys
        from hcsaio.emulator import _launcher
        from hcsaio.emulator.wire._client import ServiceClient
        path = _launcher.ensure_service()
        pid = os.fork()
        if pid == 0:
            assert _launcher._private is None          # not the owner
            assert _launcher.ensure_service() == path  # but it uses the parent's service
            _launcher.stop_service()                    # and stopping is not its business
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0
        with ServiceClient(path) as client:
            client.status()                             # still running for the parent
        print("ok")
        """
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_a_failing_service_is_reported(tmp_path: Path) -> None:
    result = run_python(
        """
        from hcsaio.emulator import _launcher
        try:
            _launcher.ensure_service()
        except _launcher.EmulatorStartError as err:
            print("error:", err)
        """,
        env={"HCSAIO_EMULATOR_MODE": "not-a-mode"},
    )
    assert result.returncode == 0 and "exited with code 2" in result.stdout, result.stderr


def test_the_service_runs_this_hcsaio_whatever_the_working_directory(tmp_path: Path) -> None:
    """``python examples/shell.py`` from a checkout: the service must not
    import the checkout's hcsaio (and its possibly stale shim, which printed
    "hcsemu-shim: bad arguments") instead of the one its user imported."""
    (tmp_path / "hcsaio").mkdir()
    (tmp_path / "hcsaio" / "__init__.py").write_text("raise SystemExit('the wrong hcsaio')\n")
    script = tmp_path / "app" / "main.py"  # sys.path[0] is app/, as for examples/
    script.parent.mkdir()
    script.write_text(
        textwrap.dedent(
            """
            from hcsaio.emulator import _launcher
            from hcsaio.emulator.wire._client import ServiceClient
            with ServiceClient(_launcher.ensure_service()) as client:
                print(client.status()["Mode"])
            """
        )
    )
    environment = {k: v for k, v in os.environ.items() if k != "HCSAIO_EMULATOR_SOCKET"}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert "the wrong hcsaio" not in result.stderr
