"""The HCN and storage declaration headers are usable the way hcs_defs.h is:
fed to cffi's cdef by the bridge builder's own filter, with the documented
x64 layouts. Needs no Windows tools."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import cffi

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "_cffi_build" / "include"


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "hcsaio_build_bridge", REPO / "_cffi_build" / "build_bridge.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _ffi() -> cffi.FFI:
    builder = _builder()
    ffi = cffi.FFI()
    for header in ("hcs_defs.h", "hcn_defs.h", "hcs_storage_defs.h"):
        ffi.cdef(builder.cdef_text(INCLUDE / header))
    return ffi


def test_hcn_port_structs_have_the_documented_layout() -> None:
    ffi = _ffi()
    assert ffi.sizeof("HCN_PORT_RANGE_RESERVATION") == 4
    assert ffi.sizeof("HCN_PORT_RANGE_ENTRY") == 64
    offsets = {
        "OwningPartitionId": 0,
        "TargetPartitionId": 16,
        "Protocol": 32,
        "Priority": 40,
        "ReservationType": 48,
        "SharingFlags": 52,
        "DeliveryMode": 56,
        "StartingPort": 60,
        "EndingPort": 62,
    }
    for name, offset in offsets.items():
        assert ffi.offsetof("HCN_PORT_RANGE_ENTRY", name) == offset, name


def test_constants_and_function_types_reach_python() -> None:
    ffi = _ffi()
    # Only the #define constants are read from it (dlopen(None) is POSIX-only).
    lib: Any
    if sys.platform == "win32":
        lib = ffi.dlopen("kernel32.dll")
    else:
        lib = ffi.dlopen(None)
    assert lib.HcnNotificationNetworkEndpointDetached == 0x10
    assert lib.HcnNotificationFlagsReserved == 0xF0000000
    assert lib.HCN_PORT_PROTOCOL_BOTH == 3
    # Function pointer types resolve, with HRESULT as a 32-bit int.
    create = ffi.typeof("PFN_HcnCreateEndpoint")
    assert [a.cname for a in create.args][:2] == ["void *", "GUID *"]
    assert ffi.sizeof(create.result) == 4
    reserve = ffi.typeof("PFN_HcnReserveGuestNetworkServicePortRange")
    assert reserve.args[2].cname == "HCN_PORT_RANGE_RESERVATION *"
    storage = ffi.typeof("PFN_HcsGetLayerVhdMountPath")
    assert storage.args[1].cname == "char16_t * *"
