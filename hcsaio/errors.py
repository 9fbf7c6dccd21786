"""Errors raised by hcsaio.

Every failure reported by HCS is an :class:`HcsError` carrying the HRESULT,
the HCS function that failed, the compute system id and/or process id it
was about, HCS's message and the ``ErrorEvents`` of its ``ResultError``
document. The class is chosen from the HRESULT through a registry built
from one table (``hcsaio._errors_table``); an unknown code falls back to
:class:`HcsError` itself::

    HcsError
    ├── HcsTimeoutError        (also builtin TimeoutError)
    ├── Cancelled
    ├── ServiceDisconnected
    ├── ServiceNotAvailable
    ├── AccessDenied
    ├── InvalidArgument
    ├── InvalidHandle
    │   └── HandleClosed       (hcsshim's ErrAlreadyClosed: closed by close())
    ├── InvalidJson
    ├── InvalidLayer
    ├── InvalidState
    ├── OperationStateError
    ├── CallbackAlreadySet
    ├── NotSupported
    │   ├── ExportNotFound     (ERROR_PROC_NOT_FOUND: missing export)
    │   └── HyperVNotInstalled
    ├── LibraryNotFound
    ├── NotFound
    │   ├── SystemNotFound
    │   ├── ProcessNotFound
    │   └── FileNotFound
    ├── AlreadyStopped
    │   ├── SystemAlreadyStopped
    │   └── ProcessAlreadyStopped
    ├── SystemAlreadyExists
    ├── UnexpectedExit
    └── GuestConnectionError

    ProcessExitError           (not an HCS failure: a process exited non-zero
                                under ``Container.run(check=True)``)

hcsshim's predicates (``IsNotExist``, ``IsAlreadyStopped`` ...) exist as
functions here with the same code sets, so code ported from Go keeps its
meaning. Mistakes made by the caller (a malformed id, a wrong type in a
document) never reach HCS: they raise ``ValueError``/``TypeError`` before
the call.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from ._errors_table import ERROR_TABLE, ErrorCode

if TYPE_CHECKING:
    from .schema.v2 import ErrorEvent

__all__ = [
    "AccessDenied",
    "AlreadyStopped",
    "CallbackAlreadySet",
    "Cancelled",
    "ExportNotFound",
    "FileNotFound",
    "GuestConnectionError",
    "HandleClosed",
    "HcsError",
    "HcsTimeoutError",
    "HyperVNotInstalled",
    "InvalidArgument",
    "InvalidHandle",
    "InvalidJson",
    "InvalidLayer",
    "InvalidState",
    "LibraryNotFound",
    "NotFound",
    "NotSupported",
    "OperationStateError",
    "ProcessAlreadyStopped",
    "ProcessExitError",
    "ProcessNotFound",
    "ServiceDisconnected",
    "ServiceNotAvailable",
    "SystemAlreadyExists",
    "SystemAlreadyStopped",
    "SystemNotFound",
    "UnexpectedExit",
    "error_code",
    "error_from_hresult",
    "is_access_denied",
    "is_already_closed",
    "is_already_stopped",
    "is_not_exist",
    "is_not_supported",
    "is_operation_invalid_state",
    "is_service_disconnected",
    "is_timeout",
]


def _u32(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


class HcsError(Exception):
    """An HCS call failed.

    Attributes:
        hresult: the HRESULT as an unsigned 32-bit value (``0x8037010E``).
        operation: the HCS function that failed (``"HcsStartComputeSystem"``).
        id: the compute system id the call was about, if any.
        pid: the process id the call was about, if any.
        message: HCS's ``ErrorMessage``, else the text for the code.
        error_events: the ``ErrorEvents`` of HCS's ``ResultError`` document.
    """

    hresult: int
    operation: str
    id: str | None
    pid: int | None
    message: str
    error_events: tuple[ErrorEvent, ...]

    def __init__(
        self,
        hresult: int,
        operation: str,
        *,
        id: str | None = None,
        pid: int | None = None,
        message: str | None = None,
        error_events: Sequence[ErrorEvent] = (),
    ) -> None:
        self.hresult = _u32(hresult)
        self.operation = operation
        self.id = id
        self.pid = pid
        code = error_code(self.hresult)
        self.message = message or (code.message if code else "HCS reported a failure.")
        self.error_events = tuple(error_events)
        super().__init__(self._describe())

    @property
    def code_name(self) -> str:
        """The symbolic name of the HRESULT, or its hex form if unknown."""
        code = error_code(self.hresult)
        return code.name if code else f"0x{self.hresult:08X}"

    def _target(self) -> str:
        parts = []
        if self.id is not None:
            parts.append(f"compute system {self.id!r}")
        if self.pid is not None:
            parts.append(f"process {self.pid}")
        return " for " + ", ".join(parts) if parts else ""

    def _describe(self) -> str:
        text = f"{self.operation} failed{self._target()}: {self.message} ({self.code_name}, HRESULT 0x{self.hresult:08X})"
        # HCS usually repeats its ErrorMessage as the first event's message:
        # show each text once.
        seen = {self.message.strip()}
        details = []
        for event in self.error_events:
            detail = (getattr(event, "message", None) or "").strip()
            if detail and detail not in seen:
                seen.add(detail)
                details.append(detail)
        if details:
            text += " [" + "; ".join(details) + "]"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.hresult, self.operation, self.id, self.pid, self.message),
        )


def _rebuild(
    cls: type[HcsError], hresult: int, operation: str, id: str | None, pid: int | None, message: str
) -> HcsError:
    return cls(hresult, operation, id=id, pid=pid, message=message)


class HcsTimeoutError(HcsError, builtins.TimeoutError):
    """Something did not complete in time. For an HCS operation, hcsaio
    asked HCS to cancel it and waited for it to finish before raising, so
    nothing it used is freed under HCS's feet; for a wait that is not an
    operation (a process exit, stdio), ``note`` says what was left running.

    Attributes (besides HcsError's):
        waited: seconds waited before giving up, when hcsaio timed it.
        outcome: the HRESULT the operation finally completed with after the
            cancel request (``None`` if it had not completed when hcsaio
            stopped waiting for it, or if nothing was cancelled).
        note: for waits that are not operations, what happened on expiry
            (``"the process was killed"``); ``None`` for operations.
        cancel_requested: whether hcsaio asked HCS to cancel it; ``False``
            for a synchronous call (HcsOpen*, service calls), which cannot be
            cancelled and runs on to its end on a bridge worker, where what
            it returns is disposed of.
    """

    waited: float | None
    outcome: int | None
    note: str | None
    cancel_requested: bool

    def __init__(
        self,
        hresult: int,
        operation: str,
        *,
        waited: float | None = None,
        outcome: int | None = None,
        note: str | None = None,
        cancel_requested: bool = True,
        **kwargs: Any,
    ) -> None:
        self.waited = waited
        self.outcome = None if outcome is None else _u32(outcome)
        self.note = note
        self.cancel_requested = cancel_requested
        super().__init__(hresult, operation, **kwargs)

    def _describe(self) -> str:
        if self.waited is None:
            return super()._describe()
        text = f"timed out after {self.waited:.3g} s waiting for {self.operation}{self._target()}"
        if self.note is not None:
            text += f"; {self.note}"
        elif not self.cancel_requested:
            text += (
                "; a synchronous call cannot be cancelled: it finishes on a bridge worker, "
                "which disposes of what it returns"
            )
        elif self.outcome is not None:
            text += f"; after the cancel request it ended with {_hresult_text(self.outcome)}"
        else:
            text += "; it had not completed after the cancel request and was abandoned"
        return text


def _hresult_text(hresult: int) -> str:
    """``ERROR_CANCELLED (0x800704C7)``: the symbolic name first, as people
    search for it; the value for the rest."""
    if hresult == 0:
        return "success (S_OK)"
    code = error_code(hresult)
    name = code.name if code else "an unknown HRESULT"
    return f"{name} (0x{_u32(hresult):08X})"


class Cancelled(HcsError):
    """HCS reports the operation was cancelled."""


class ServiceDisconnected(HcsError):
    """The HCS service (or the emulator service) went away; the handle is dead."""


class ServiceNotAvailable(HcsError):
    """A required service or feature is not available."""


class AccessDenied(HcsError):
    """The caller lacks the rights HCS requires."""


class InvalidArgument(HcsError):
    """HCS rejected an argument (E_INVALIDARG)."""


class InvalidHandle(HcsError):
    """The handle is not valid (typically: already closed)."""


class HandleClosed(InvalidHandle):
    """The handle was closed by ``close()``: raised by any call made on it
    afterwards, and by every wait (``wait()``, ``communicate()``, an
    operation) that was still pending when another task closed it. hcsshim
    users know it as ``ErrAlreadyClosed`` (``IsAlreadyClosed``). hcsaio
    raises it itself, with ``RO_E_CLOSED`` as its code: HCS is never asked."""

    @classmethod
    def raised_by(
        cls, operation: str, message: str, *, id: str | None = None, pid: int | None = None
    ) -> HandleClosed:
        """The error for ``operation`` refused or interrupted by a close."""
        return cls(_hresult_named("RO_E_CLOSED"), operation, id=id, pid=pid, message=message)


class InvalidJson(HcsError):
    """HCS rejected the JSON document; the message names what is wrong."""


class InvalidLayer(HcsError):
    """A storage layer is not in a format HCS recognises."""


class InvalidState(HcsError):
    """The operation is not valid in the compute system's current state."""


class OperationStateError(HcsError):
    """An HCS_OPERATION was used out of order (not started, still pending ...)."""


class CallbackAlreadySet(HcsError):
    """An event callback is already registered on this handle."""


class NotSupported(HcsError):
    """The host does not support the request."""


class ExportNotFound(NotSupported):
    """The loaded HCS library lacks the function (older Windows build)."""


class HyperVNotInstalled(NotSupported):
    """The request needs Hyper-V, which is not installed (the emulator says
    this for every VirtualMachine document)."""


class LibraryNotFound(HcsError):
    """The HCS library could not be loaded."""


class NotFound(HcsError):
    """Something named in the call does not exist."""


class SystemNotFound(NotFound):
    """No compute system with that id exists."""


class ProcessNotFound(NotFound):
    """The process exited or does not exist."""


class FileNotFound(NotFound):
    """A file named in the request (such as the program to run) does not exist."""


class AlreadyStopped(HcsError):
    """The target has already stopped."""


class SystemAlreadyStopped(AlreadyStopped):
    """The compute system is not running."""


class ProcessAlreadyStopped(AlreadyStopped):
    """The process has already exited."""


class SystemAlreadyExists(HcsError):
    """A compute system with that id already exists."""


class UnexpectedExit(HcsError):
    """The compute system exited unexpectedly or was terminated."""


class GuestConnectionError(HcsError):
    """The host could not talk to the compute system's guest."""


class ProcessExitError(Exception):
    """A process run with ``check=True`` exited with a non-zero code.

    Mirrors ``subprocess.CalledProcessError``: ``returncode``, ``args``,
    ``stdout`` and ``stderr`` (bytes, or ``None`` when not captured).
    """

    def __init__(
        self,
        returncode: int,
        args: Sequence[str],
        stdout: bytes | None = None,
        stderr: bytes | None = None,
    ) -> None:
        self.returncode = returncode
        self.args_ = tuple(args)
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"command {list(self.args_)!r} exited with code {returncode}")

    @property
    def cmd(self) -> tuple[str, ...]:
        return self.args_


def _build_registry() -> tuple[dict[int, ErrorCode], dict[int, type[HcsError]]]:
    classes = {
        name: obj
        for name, obj in globals().items()
        if isinstance(obj, type) and issubclass(obj, HcsError)
    }
    codes: dict[int, ErrorCode] = {}
    registry: dict[int, type[HcsError]] = {}
    for row in ERROR_TABLE:
        if row.hresult in codes:
            raise RuntimeError(f"duplicate HRESULT 0x{row.hresult:08X} in the error table")
        if row.family not in classes:
            raise RuntimeError(f"error table names unknown class {row.family!r}")
        codes[row.hresult] = row
        registry[row.hresult] = classes[row.family]
    return codes, registry


_CODES, _REGISTRY = _build_registry()


def _hresult_named(name: str) -> int:
    """The HRESULT of a symbolic name in the table (for errors hcsaio raises
    itself, so the value is written down only once)."""
    return next(row.hresult for row in ERROR_TABLE if row.name == name)


def error_code(hresult: int) -> ErrorCode | None:
    """The table row for an HRESULT, if hcsaio knows it."""
    return _CODES.get(_u32(hresult))


def error_from_hresult(
    hresult: int,
    operation: str,
    *,
    id: str | None = None,
    pid: int | None = None,
    message: str | None = None,
    error_events: Sequence[ErrorEvent] = (),
) -> HcsError:
    """The right :class:`HcsError` subclass for an HRESULT."""
    cls = _REGISTRY.get(_u32(hresult), HcsError)
    return cls(hresult, operation, id=id, pid=pid, message=message, error_events=error_events)


# --- hcsshim's predicates (internal/hcs/errors.go), same code sets ----------

_ERROR_NOT_FOUND: Final = 0x80070490
_NOT_EXIST: Final = frozenset({0xC037010E, 0x8037010E, _ERROR_NOT_FOUND})
_ALREADY_STOPPED: Final = frozenset({0xC0370110, 0x80370110, 0x8037011F, _ERROR_NOT_FOUND})
_NOT_SUPPORTED: Final = frozenset({0xC037010D, 0x8007000D, 0x80070032, 0xC037010B, 0x8007007F})
_INVALID_STATE: Final = frozenset({0xC0370105, 0x80370105})
_ACCESS_DENIED: Final = frozenset({0x80070005, 0x8037011B})
_TIMEOUT: Final = frozenset({0x80370118, 0xC0370109})


def _hresult_of(err: BaseException) -> int | None:
    return err.hresult if isinstance(err, HcsError) else None


def is_not_exist(err: BaseException) -> bool:
    """The compute system or process does not exist (or has exited)."""
    return _hresult_of(err) in _NOT_EXIST


def is_already_stopped(err: BaseException) -> bool:
    """The compute system or process has already stopped."""
    return _hresult_of(err) in _ALREADY_STOPPED


def is_not_supported(err: BaseException) -> bool:
    """The request is invalid or unsupported on this host."""
    return _hresult_of(err) in _NOT_SUPPORTED


def is_operation_invalid_state(err: BaseException) -> bool:
    """The operation is not valid in the current state."""
    return _hresult_of(err) in _INVALID_STATE


def is_access_denied(err: BaseException) -> bool:
    return _hresult_of(err) in _ACCESS_DENIED


def is_timeout(err: BaseException) -> bool:
    """An HCS timeout, or any builtin TimeoutError (enclosing deadlines)."""
    return isinstance(err, builtins.TimeoutError) or _hresult_of(err) in _TIMEOUT


def is_already_closed(err: BaseException) -> bool:
    """The handle was closed (hcsshim's ``IsAlreadyClosed``)."""
    return isinstance(err, HandleClosed)


def is_service_disconnected(err: BaseException) -> bool:
    return isinstance(err, ServiceDisconnected)
