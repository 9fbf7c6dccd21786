"""libhcsemu through cffi in ABI mode: the conformance suite's view of the
library, exactly as any C program sees computecore.dll.

The declarations come from the project's own headers: ``hcs_defs.h`` for
types and constants, and one prototype per ``PFN_<Export>`` typedef, so the
suite calls every export with the signature the bridge uses.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cffi import FFI

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "_cffi_build" / "include"

_PFN = re.compile(r"typedef\s+(?P<ret>[^;]+?)\s*\(\*PFN_(?P<name>\w+)\)\((?P<params>[^;]*)\);")


def _builder() -> Any:
    """The bridge's cffi builder script, for its header helpers (importing
    it only declares an FFI; nothing is compiled)."""
    path = REPO / "_cffi_build" / "build_bridge.py"
    spec = importlib.util.spec_from_file_location("_hcsaio_build_bridge", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _declarations() -> str:
    builder = _builder()
    text = builder.cdef_text(INCLUDE / "hcs_defs.h")
    protos = []
    for m in _PFN.finditer((INCLUDE / "hcs_defs.h").read_text()):
        protos.append(f"{m.group('ret')} {m.group('name')}({m.group('params')});")
    return text + "\n" + "\n".join(protos) + "\n"


ffi = FFI()
ffi.cdef(_declarations())

S_OK = 0
E_HANDLE = 0x80070006
E_INVALIDARG = 0x80070057
E_POINTER = 0x80004003
E_NOTIMPL = 0x80004001
ERROR_CANCELLED = 0x800704C7
ERROR_FILE_NOT_FOUND = 0x80070002
ERROR_NOT_FOUND = 0x80070490
ERROR_NOT_SUPPORTED = 0x80070032
HCS_E_HYPERV_NOT_INSTALLED = 0x80370102
HCS_E_INVALID_STATE = 0x80370105
HCS_E_INVALID_JSON = 0x8037010D
HCS_E_SYSTEM_NOT_FOUND = 0x8037010E
HCS_E_SYSTEM_ALREADY_EXISTS = 0x8037010F
HCS_E_SYSTEM_ALREADY_STOPPED = 0x80370110
HCS_E_SERVICE_NOT_AVAILABLE = 0x80370114
HCS_E_OPERATION_NOT_STARTED = 0x80370115
HCS_E_OPERATION_ALREADY_STARTED = 0x80370116
HCS_E_OPERATION_PENDING = 0x80370117
HCS_E_OPERATION_TIMEOUT = 0x80370118
HCS_E_CALLBACK_ALREADY_SET = 0x80370119
HCS_E_SERVICE_DISCONNECT = 0x8037011E
HCS_E_PROCESS_ALREADY_STOPPED = 0x8037011F
HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION = 0x80370120
INFINITE = 0xFFFFFFFF
INVALID_HANDLE_VALUE = (1 << 64) - 1


def hr(value: int) -> int:
    """An HRESULT as an unsigned 32-bit number (for readable asserts)."""
    return value & 0xFFFFFFFF


class Library:
    """The loaded library plus the conveniences every test needs."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lib: Any = ffi.dlopen(path)
        self._keep: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lib, name)

    @staticmethod
    def w(text: str | None) -> Any:
        return ffi.NULL if text is None else ffi.new("char16_t[]", text)

    def take(self, out: Any) -> str | None:
        """Read and LocalFree a returned string."""
        if out[0] == ffi.NULL:
            return None
        text = ffi.string(out[0])
        self.lib.LocalFree(out[0])
        out[0] = ffi.NULL
        return str(text)

    def op(self) -> Any:
        op = self.lib.HcsCreateOperation(ffi.NULL, ffi.NULL)
        assert op != ffi.NULL
        return op

    def wait(self, op: Any, timeout_ms: int = 30_000) -> tuple[int, str | None]:
        out = ffi.new("PWSTR *")
        result = self.lib.HcsWaitForOperationResult(op, timeout_ms, out)
        return hr(result), self.take(out)

    def wait_info(self, op: Any, timeout_ms: int = 30_000) -> tuple[int, str | None, Any]:
        out = ffi.new("PWSTR *")
        info = ffi.new("HCS_PROCESS_INFORMATION *")
        result = self.lib.HcsWaitForOperationResultAndProcessInfo(op, timeout_ms, info, out)
        return hr(result), self.take(out), info

    def call(
        self, fn: Callable[..., int], *args: Any, timeout_ms: int = 30_000
    ) -> tuple[int, str | None]:
        """Start an async call with a fresh op, wait for it, close the op."""
        op = self.op()
        try:
            started = hr(fn(*args, op))
            if started != S_OK:
                out = ffi.new("PWSTR *")
                self.lib.HcsGetOperationResult(op, out)
                return started, self.take(out)
            return self.wait(op, timeout_ms)
        finally:
            self.lib.HcsCloseOperation(op)

    def create_system(
        self, system_id: str, document: dict[str, Any] | str | None = None
    ) -> tuple[int, Any, str | None]:
        doc = document if isinstance(document, str) else json.dumps(document or container_doc())
        out = ffi.new("HCS_SYSTEM *")
        op = self.op()
        try:
            started = hr(
                self.lib.HcsCreateComputeSystem(self.w(system_id), self.w(doc), op, ffi.NULL, out)
            )
            if started != S_OK:
                return started, out[0], None
            code, result = self.wait(op)
            return code, out[0], result
        finally:
            self.lib.HcsCloseOperation(op)

    def system_call(
        self, name: str, system: Any, options: str | None = None
    ) -> tuple[int, str | None]:
        fn = getattr(self.lib, name)
        return self.call(lambda op: fn(system, op, self.w(options)))

    def properties(self, system: Any, query: dict[str, Any] | None = None) -> dict[str, Any]:
        code, doc = self.call(
            lambda op: self.lib.HcsGetComputeSystemProperties(
                system, op, self.w(json.dumps(query or {}))
            )
        )
        assert code == S_OK, (hex(code), doc)
        assert doc is not None
        return dict(json.loads(doc))

    def running_system(self, system_id: str, document: dict[str, Any] | None = None) -> Any:
        code, system, doc = self.create_system(system_id, document)
        assert code == S_OK, (hex(code), doc)
        code, doc = self.system_call("HcsStartComputeSystem", system)
        assert code == S_OK, (hex(code), doc)
        return system

    def create_process(
        self, system: Any, params: dict[str, Any]
    ) -> tuple[int, Any, Any, str | None]:
        """(HRESULT, process handle, HCS_PROCESS_INFORMATION, result doc)."""
        out = ffi.new("HCS_PROCESS *")
        op = self.op()
        try:
            started = hr(
                self.lib.HcsCreateProcess(system, self.w(json.dumps(params)), op, ffi.NULL, out)
            )
            if started != S_OK:
                return started, out[0], None, None
            code, doc, info = self.wait_info(op)
            return code, out[0], info, doc
        finally:
            self.lib.HcsCloseOperation(op)

    def wait_process(
        self, process: Any, timeout_ms: int = 30_000
    ) -> tuple[int, dict[str, Any] | None]:
        out = ffi.new("PWSTR *")
        code = hr(self.lib.HcsWaitForProcessExit(process, timeout_ms, out))
        doc = self.take(out)
        return code, (json.loads(doc) if doc else None)

    def wait_system(
        self, system: Any, timeout_ms: int = 30_000
    ) -> tuple[int, dict[str, Any] | None]:
        out = ffi.new("PWSTR *")
        code = hr(self.lib.HcsWaitForComputeSystemExit(system, timeout_ms, out))
        doc = self.take(out)
        return code, (json.loads(doc) if doc else None)

    def set_faults(self, delays: dict[str, float] | None) -> int:
        settings: dict[str, Any] = {"Delays": delays} if delays else {}
        doc = json.dumps({"PropertyType": "EmulatorFaults", "Settings": settings})
        out = ffi.new("PWSTR *")
        code = hr(self.lib.HcsModifyServiceSettings(self.w(doc), out))
        self.take(out)
        return code


def container_doc(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "SchemaVersion": {"Major": 2, "Minor": 1},
        "Owner": "tests",
        "Container": {},
    }
    doc.update(extra)
    return doc


class EventLog:
    """An HCS_EVENT_CALLBACK recording (type, data, operation, thread) tuples."""

    def __init__(self) -> None:
        self.events: list[tuple[int, str | None, int, int]] = []
        self.changed = threading.Condition()
        self.callback = ffi.callback("HCS_EVENT_CALLBACK", self._on_event)

    def _on_event(self, event: Any, context: Any) -> None:
        data = ffi.string(event.EventData) if event.EventData != ffi.NULL else None
        with self.changed:
            self.events.append(
                (
                    event.Type & 0xFFFFFFFF,
                    data,
                    int(ffi.cast("uintptr_t", event.Operation)),
                    threading.get_ident(),
                )
            )
            self.changed.notify_all()

    def wait_for(
        self,
        predicate: Callable[[list[tuple[int, str | None, int, int]]], bool],
        timeout: float = 30,
    ) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.events), timeout), self.events

    def types(self) -> list[int]:
        with self.changed:
            return [e[0] for e in self.events]
