"""Synchronous exports on the bridge's native worker threads.

Every export that blocks (``HcsOpenComputeSystem``, ``HcsOpenProcess``, the
service calls, and every HCN, computestorage and vmcompute call) goes
through :func:`submit`: the bridge copies the arguments, one of its few
native workers makes the call without the GIL, and the completion arrives
on the caller's dispatcher as a record for ``token``, like an operation's.
:meth:`Call.take` then hands over the results; :meth:`Call.release` (also
run when the object is garbage-collected) gives the call up, and the bridge
disposes of whatever it returns (strings freed, handles closed). The
mechanism: docs/bridge.md, "Synchronous calls".

Raw results only: an HRESULT and the out-parameters, decoded (text as
``str``, handles as :data:`Handle`, process information as
:class:`ProcessInfo`). Turning a failure into an exception is the caller's
business (``hcsaio._core``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from ._ffi import ffi, lib
from .handles import Handle, ProcessInfo, process_info

#: ``timeout_ms`` for a call without deadline (the library's own bounded
#: default applies inside it).
NO_TIMEOUT: Final = 0xFFFFFFFF
DEFAULT_WORKERS: Final = 4
MAX_WORKERS: Final = 64
#: Environment variable sizing the pool (read once, when it starts).
ENV_WORKERS: Final = "HCSAIO_SYNC_WORKERS"

S_OK: Final = 0


class Signature(NamedTuple):
    """How one export crosses to the workers: ``ins`` has one letter per
    in-parameter (``s`` string, ``i`` integer, ``p`` handle), ``outs`` one per
    out-parameter (``t`` text, ``h`` handle, ``P`` process information)."""

    name: str
    export: int
    ins: str
    outs: str
    out_types: tuple[str, ...]


class Outcome(NamedTuple):
    """A finished call: its HRESULT and one value per out-parameter
    (``str | None``, ``Handle | None`` or ``ProcessInfo | None``)."""

    hresult: int
    values: tuple[Any, ...]


class SyncStats(NamedTuple):
    workers: int
    busy: int
    busy_high_water: int
    queued: int
    outstanding: int
    submitted: int
    completed: int
    skipped: int
    disposed: int
    handles_closed: int
    texts_freed: int


_signatures: dict[str, Signature] = {}
_runnable: dict[str, bool] = {}


def _load_signatures() -> None:
    ins = ffi.new("const char **")
    outs = ffi.new("const char **")
    types = ffi.new("const char **")
    for i in range(lib.hb_export_count()):
        name = ffi.string(lib.hb_export_name(i)).decode()
        runnable = lib.hb_sync_describe(i, ins, outs, types) == 1
        _runnable[name] = runnable
        if runnable:
            out_types = ffi.string(types[0]).decode()
            _signatures[name] = Signature(
                name,
                i,
                ffi.string(ins[0]).decode(),
                ffi.string(outs[0]).decode(),
                tuple(out_types.split(",")) if out_types else (),
            )


def signature(name: str) -> Signature:
    """The worker signature of export ``name``. ``ValueError`` if hcsaio does
    not bind it or it cannot run on the workers (it takes a callback or a
    structure pointer)."""
    if not _runnable:
        _load_signatures()
    found = _signatures.get(name)
    if found is None:
        why = "is not an export hcsaio binds" if name not in _runnable else "cannot run there"
        raise ValueError(f"{name} {why}: no synchronous call on the bridge's workers")
    return found


def _pool_size() -> int:
    raw = os.environ.get(ENV_WORKERS, "").strip()
    if not raw:
        return DEFAULT_WORKERS
    try:
        size = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_WORKERS} must be an integer, not {raw!r}") from None
    if not 1 <= size <= MAX_WORKERS:
        raise ValueError(f"{ENV_WORKERS} must be within 1..{MAX_WORKERS}, not {size}")
    return size


_started = 0


def start_workers() -> int:
    """Start the pool (once; sized by ``HCSAIO_SYNC_WORKERS``, default 4)."""
    global _started
    if not _started:
        size = lib.hb_sync_start(_pool_size())
        if size < 0:
            raise RuntimeError("the bridge could not start any worker thread")
        _started = size
    return _started


def _argument(kind: str, value: Any, name: str, position: int) -> tuple[int, Any]:
    """(value, text) of one hb_sync_arg."""
    what = f"argument {position} of {name}"
    if kind == "s":
        if value is None:
            return 0, ffi.NULL
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a str, not {type(value).__name__}")
        if "\x00" in value:
            raise ValueError(f"{what} must not contain NUL characters")
        return 0, ffi.new("char16_t[]", value)
    if kind == "i":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{what} must be an int, not {type(value).__name__}")
        if not 0 <= value < 1 << 64:
            raise ValueError(f"{what} must be within 0..2**64-1, got {value}")
        return value, ffi.NULL
    # "p": a handle (cffi pointer) or None
    return (0 if value is None else int(ffi.cast("uintptr_t", value))), ffi.NULL


class Call:
    """One submitted call. End it exactly once: :meth:`take` after its
    completion record arrived, or :meth:`release` to give it up."""

    __slots__ = ("_native", "signature")

    def __init__(self, native: Any, signature: Signature) -> None:
        # Garbage collection releases a call nobody ended (a coroutine
        # dropped without being finalised), so it is disposed of, not leaked.
        self._native: Any = ffi.gc(native, lib.hb_sync_release)
        self.signature = signature

    def take(self) -> Outcome:
        """The results, which the caller now owns; ends the call."""
        native = self._native
        if native is None:
            raise RuntimeError("this synchronous call has already ended")
        result = ffi.new("hb_sync_result *")
        if lib.hb_sync_take(native, result) != 0:
            raise RuntimeError(f"{self.signature.name} has not finished")
        self._end()
        values: list[Any] = []
        for k, kind in enumerate(self.signature.outs):
            out = result.outs[k]
            if kind == "t":
                text: str | None = None
                if out.text != ffi.NULL:
                    try:
                        text = ffi.unpack(out.text, out.text_len).decode("utf-8", "replace")
                    finally:
                        lib.hb_free(out.text)
                values.append(text)
            elif kind == "h":
                values.append(
                    None
                    if out.handle == ffi.NULL
                    else Handle(ffi.cast(self.signature.out_types[k], out.handle))
                )
            else:
                # HCS fills the process information only when the call succeeds.
                info: ProcessInfo | None = process_info(out.info) if result.hresult >= 0 else None
                values.append(info)
        return Outcome(int(result.hresult), tuple(values))

    def release(self) -> None:
        """Give the call up (timeout, cancellation): the bridge disposes of its
        results when it finishes, or never makes it if it has not started."""
        self._end()

    def _end(self) -> None:
        native, self._native = self._native, None
        if native is not None:
            ffi.release(native)  # runs hb_sync_release now, once


def submit(
    library: int, name: str, arguments: Sequence[Any], token: int, timeout_ms: int
) -> tuple[int, Call | None]:
    """Queue export ``name`` of ``library`` with its in-parameters; the
    completion goes to ``token``'s dispatcher. Returns ``(S_OK, call)``, or
    ``(failure HRESULT, None)`` when it could not be queued (the export is
    missing from the library, out of memory). Bad arguments raise
    ``TypeError``/``ValueError`` before anything is queued."""
    sig = signature(name)
    if len(arguments) != len(sig.ins):
        raise TypeError(f"{name} takes {len(sig.ins)} arguments, got {len(arguments)}")
    if not 0 <= timeout_ms <= NO_TIMEOUT:
        raise ValueError(f"timeout_ms must be within 0..{NO_TIMEOUT}, got {timeout_ms}")
    start_workers()
    args = ffi.new("hb_sync_arg[]", max(1, len(sig.ins)))
    keep = []  # the UTF-16 buffers must live until hb_sync_submit has copied them
    for i, (kind, value) in enumerate(zip(sig.ins, arguments, strict=True)):
        number, text = _argument(kind, value, name, i)
        args[i].value = number
        args[i].text = text
        keep.append(text)
    out = ffi.new("hb_sync_call **")
    hresult = int(
        lib.hb_sync_submit(library, sig.export, token, args, len(sig.ins), timeout_ms, out)
    )
    del keep
    if hresult < 0:
        return hresult, None
    return S_OK, Call(out[0], sig)


def stats() -> SyncStats:
    """The pool's counters (for tests and diagnostics)."""
    out = ffi.new("hb_sync_stats *")
    lib.hb_sync_stats_get(out)
    return SyncStats(
        int(out.workers),
        int(out.busy),
        int(out.busy_high_water),
        int(out.queued),
        int(out.outstanding),
        int(out.submitted),
        int(out.completed),
        int(out.skipped),
        int(out.disposed),
        int(out.handles_closed),
        int(out.texts_freed),
    )
