"""The public surface is deliberate: pinned names, final classes, no public
constructors for objects that own handles."""

from __future__ import annotations

import typing

import pytest

import hcsaio

EXPECTED = {
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "Capabilities",
    "CompletedProcess",
    "Container",
    "CrashInitiated",
    "CrashReport",
    "Event",
    "GuestConnectionClosed",
    "HcsError",
    "HcsTimeoutError",
    "PendingOperation",
    "PipeReader",
    "PipeWriter",
    "Process",
    "ProcessExitError",
    "ProcessExited",
    "RdpEnhancedModeStateChanged",
    "ServiceDisconnected",
    "SiloJobCreated",
    "SystemExited",
    "UnknownEvent",
    "__version__",
    "cancel_grace",
    "capabilities",
    "default_cancel_grace",
    "set_default_cancel_grace",
    "create_compute_system",
    "enumerate_compute_systems",
    "errors",
    "modify_service_settings",
    "open_compute_system",
    "pending_operations",
    "schema",
    "service_properties",
}


def test_all_is_pinned() -> None:
    assert set(hcsaio.__all__) == EXPECTED
    for name in hcsaio.__all__:
        assert hasattr(hcsaio, name), name


@pytest.mark.parametrize("cls", [hcsaio.Container, hcsaio.Process])
def test_handle_owners_are_final_and_not_constructible(cls: type) -> None:
    assert getattr(cls, "__final__", False) is True
    with pytest.raises(TypeError):
        cls()
    with pytest.raises(TypeError):
        cls("id")


def test_final_decorator_is_typing_final() -> None:
    assert typing.final(type("X", (), {})).__final__ is True


def test_errors_registry_is_consistent() -> None:
    from hcsaio import errors
    from hcsaio._errors_table import ERROR_TABLE

    assert len({row.hresult for row in ERROR_TABLE}) == len(ERROR_TABLE)
    for row in ERROR_TABLE:
        err = errors.error_from_hresult(row.hresult, "Op")
        assert type(err).__name__ == row.family
        assert err.hresult == row.hresult
    unknown = errors.error_from_hresult(0x80001234, "Op")
    assert type(unknown) is errors.HcsError
    assert issubclass(errors.HcsTimeoutError, TimeoutError)
    assert errors.is_timeout(TimeoutError())


def test_importing_hcsaio_loads_no_library() -> None:
    import subprocess
    import sys

    code = (
        "import hcsaio, hcsaio._core._backend as l; assert l.loaded_default() is None; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
