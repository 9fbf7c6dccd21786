"""The one table of HRESULTs hcsaio knows: value, symbolic name, error family.

``hcsaio.errors`` builds its code -> class registry from ``ERROR_TABLE`` and
refuses duplicates at import time. Families name classes of ``hcsaio.errors``
by string so this module stays data only. Values are from the reference
(§6): HCS_E_* (0x8037xxxx, v2 API), ERROR_VMCOMPUTE_* (0xC037xxxx, the v1
API), and the Win32/COM codes HCS and hcsshim use.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class ErrorCode(NamedTuple):
    hresult: int
    name: str
    family: str
    message: str


ERROR_TABLE: Final[tuple[ErrorCode, ...]] = (
    # --- HCS_E_* (computecore / v2) ---
    ErrorCode(
        0x80370100,
        "HCS_E_TERMINATED_DURING_START",
        "UnexpectedExit",
        "The compute system exited unexpectedly while starting.",
    ),
    ErrorCode(
        0x80370101,
        "HCS_E_IMAGE_MISMATCH",
        "NotSupported",
        "The container operating system does not match the host.",
    ),
    ErrorCode(
        0x80370102,
        "HCS_E_HYPERV_NOT_INSTALLED",
        "HyperVNotInstalled",
        "A required feature (Hyper-V) is not installed.",
    ),
    ErrorCode(
        0x80370105,
        "HCS_E_INVALID_STATE",
        "InvalidState",
        "The operation is not valid in the current state.",
    ),
    ErrorCode(
        0x80370106,
        "HCS_E_UNEXPECTED_EXIT",
        "UnexpectedExit",
        "The compute system exited unexpectedly.",
    ),
    ErrorCode(
        0x80370107,
        "HCS_E_TERMINATED",
        "UnexpectedExit",
        "The compute system was forcefully terminated.",
    ),
    ErrorCode(
        0x80370108,
        "HCS_E_CONNECT_FAILED",
        "GuestConnectionError",
        "Could not connect to the compute system.",
    ),
    ErrorCode(
        0x80370109,
        "HCS_E_CONNECTION_TIMEOUT",
        "GuestConnectionError",
        "The compute system did not respond.",
    ),
    ErrorCode(
        0x8037010A,
        "HCS_E_CONNECTION_CLOSED",
        "GuestConnectionError",
        "The connection to the compute system was closed.",
    ),
    ErrorCode(
        0x8037010B,
        "HCS_E_UNKNOWN_MESSAGE",
        "NotSupported",
        "An unknown internal message was received.",
    ),
    ErrorCode(
        0x8037010C,
        "HCS_E_UNSUPPORTED_PROTOCOL_VERSION",
        "NotSupported",
        "No common protocol version.",
    ),
    ErrorCode(0x8037010D, "HCS_E_INVALID_JSON", "InvalidJson", "The JSON document is invalid."),
    ErrorCode(
        0x8037010E,
        "HCS_E_SYSTEM_NOT_FOUND",
        "SystemNotFound",
        "No compute system with that id exists.",
    ),
    ErrorCode(
        0x8037010F,
        "HCS_E_SYSTEM_ALREADY_EXISTS",
        "SystemAlreadyExists",
        "A compute system with that id already exists.",
    ),
    ErrorCode(
        0x80370110,
        "HCS_E_SYSTEM_ALREADY_STOPPED",
        "SystemAlreadyStopped",
        "The compute system is not running.",
    ),
    ErrorCode(
        0x80370111,
        "HCS_E_PROTOCOL_ERROR",
        "GuestConnectionError",
        "A host/guest protocol error occurred.",
    ),
    ErrorCode(
        0x80370112, "HCS_E_INVALID_LAYER", "InvalidLayer", "The layer format is not recognized."
    ),
    ErrorCode(
        0x80370113,
        "HCS_E_WINDOWS_INSIDER_REQUIRED",
        "NotSupported",
        "The image requires Windows Insider.",
    ),
    ErrorCode(
        0x80370114,
        "HCS_E_SERVICE_NOT_AVAILABLE",
        "ServiceNotAvailable",
        "A required service or feature is not available.",
    ),
    ErrorCode(
        0x80370115,
        "HCS_E_OPERATION_NOT_STARTED",
        "OperationStateError",
        "The operation has not started.",
    ),
    ErrorCode(
        0x80370116,
        "HCS_E_OPERATION_ALREADY_STARTED",
        "OperationStateError",
        "The operation is already running.",
    ),
    ErrorCode(
        0x80370117,
        "HCS_E_OPERATION_PENDING",
        "OperationStateError",
        "The operation is still running.",
    ),
    ErrorCode(
        0x80370118,
        "HCS_E_OPERATION_TIMEOUT",
        "HcsTimeoutError",
        "The operation did not complete in time.",
    ),
    ErrorCode(
        0x80370119,
        "HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET",
        "CallbackAlreadySet",
        "An event callback is already registered on this handle.",
    ),
    ErrorCode(
        0x8037011A,
        "HCS_E_OPERATION_RESULT_ALLOCATION_FAILED",
        "HcsError",
        "Not enough memory for the operation result.",
    ),
    ErrorCode(
        0x8037011B,
        "HCS_E_ACCESS_DENIED",
        "AccessDenied",
        "Access denied: the caller is not an administrator or Hyper-V Administrator.",
    ),
    ErrorCode(
        0x8037011C,
        "HCS_E_GUEST_CRITICAL_ERROR",
        "UnexpectedExit",
        "The guest reported a critical error.",
    ),
    ErrorCode(
        0x8037011D,
        "HCS_E_PROCESS_INFO_NOT_AVAILABLE",
        "ProcessNotFound",
        "Process information is not available.",
    ),
    ErrorCode(
        0x8037011E,
        "HCS_E_SERVICE_DISCONNECT",
        "ServiceDisconnected",
        "The HCS service disconnected unexpectedly.",
    ),
    ErrorCode(
        0x8037011F,
        "HCS_E_PROCESS_ALREADY_STOPPED",
        "ProcessAlreadyStopped",
        "The process has already exited.",
    ),
    ErrorCode(
        0x80370120,
        "HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION",
        "NotSupported",
        "The compute system is not configured for this operation.",
    ),
    ErrorCode(
        0x80370121,
        "HCS_E_OPERATION_ALREADY_CANCELLED",
        "Cancelled",
        "The operation was already cancelled.",
    ),
    # --- ERROR_VMCOMPUTE_* (vmcompute / v1) ---
    ErrorCode(
        0xC0370100,
        "ERROR_VMCOMPUTE_TERMINATED_DURING_START",
        "UnexpectedExit",
        "The compute system exited unexpectedly while starting.",
    ),
    ErrorCode(
        0xC0370101,
        "ERROR_VMCOMPUTE_IMAGE_MISMATCH",
        "NotSupported",
        "The container operating system does not match the host.",
    ),
    ErrorCode(
        0xC0370102,
        "ERROR_VMCOMPUTE_HYPERV_NOT_INSTALLED",
        "HyperVNotInstalled",
        "A required feature (Hyper-V) is not installed.",
    ),
    ErrorCode(
        0xC0370103,
        "ERROR_VMCOMPUTE_OPERATION_PENDING",
        "OperationStateError",
        "The call succeeded and the operation continues in the background.",
    ),
    ErrorCode(
        0xC0370104, "ERROR_VMCOMPUTE_TOO_MANY_NOTIFICATIONS", "HcsError", "Too many notifications."
    ),
    ErrorCode(
        0xC0370105,
        "ERROR_VMCOMPUTE_INVALID_STATE",
        "InvalidState",
        "The operation is not valid in the current state.",
    ),
    ErrorCode(
        0xC0370106,
        "ERROR_VMCOMPUTE_UNEXPECTED_EXIT",
        "UnexpectedExit",
        "The compute system exited unexpectedly.",
    ),
    ErrorCode(
        0xC0370107,
        "ERROR_VMCOMPUTE_TERMINATED",
        "UnexpectedExit",
        "The compute system was forcefully terminated.",
    ),
    ErrorCode(
        0xC0370108,
        "ERROR_VMCOMPUTE_CONNECT_FAILED",
        "GuestConnectionError",
        "Could not connect to the compute system.",
    ),
    ErrorCode(
        0xC0370109,
        "ERROR_VMCOMPUTE_TIMEOUT",
        "HcsTimeoutError",
        "The compute system did not respond in time.",
    ),
    ErrorCode(
        0xC037010A,
        "ERROR_VMCOMPUTE_CONNECTION_CLOSED",
        "GuestConnectionError",
        "The connection to the compute system was closed.",
    ),
    ErrorCode(
        0xC037010B,
        "ERROR_VMCOMPUTE_UNKNOWN_MESSAGE",
        "NotSupported",
        "An unknown internal message was received.",
    ),
    ErrorCode(
        0xC037010C,
        "ERROR_VMCOMPUTE_UNSUPPORTED_PROTOCOL_VERSION",
        "NotSupported",
        "No common protocol version.",
    ),
    ErrorCode(
        0xC037010D, "ERROR_VMCOMPUTE_INVALID_JSON", "InvalidJson", "The JSON document is invalid."
    ),
    ErrorCode(
        0xC037010E,
        "ERROR_VMCOMPUTE_SYSTEM_NOT_FOUND",
        "SystemNotFound",
        "No compute system with that id exists.",
    ),
    ErrorCode(
        0xC037010F,
        "ERROR_VMCOMPUTE_SYSTEM_ALREADY_EXISTS",
        "SystemAlreadyExists",
        "A compute system with that id already exists.",
    ),
    ErrorCode(
        0xC0370110,
        "ERROR_VMCOMPUTE_SYSTEM_ALREADY_STOPPED",
        "SystemAlreadyStopped",
        "The compute system is not running.",
    ),
    ErrorCode(
        0xC0370111,
        "ERROR_VMCOMPUTE_PROTOCOL_ERROR",
        "GuestConnectionError",
        "A host/guest protocol error occurred.",
    ),
    ErrorCode(
        0xC0370112,
        "ERROR_VMCOMPUTE_INVALID_LAYER",
        "InvalidLayer",
        "The layer format is not recognized.",
    ),
    ErrorCode(
        0xC0370113,
        "ERROR_VMCOMPUTE_WINDOWS_INSIDER_REQUIRED",
        "NotSupported",
        "The image requires Windows Insider.",
    ),
    # --- Win32 (as HRESULT_FROM_WIN32) and COM codes ---
    ErrorCode(
        0x80070002,
        "ERROR_FILE_NOT_FOUND",
        "FileNotFound",
        "The system cannot find the file specified.",
    ),
    ErrorCode(0x80070005, "E_ACCESSDENIED", "AccessDenied", "Access is denied."),
    ErrorCode(
        0x80070006,
        "ERROR_INVALID_HANDLE",
        "InvalidHandle",
        "The handle is invalid (already closed?).",
    ),
    ErrorCode(
        0x8007000D,
        "ERROR_INVALID_DATA",
        "NotSupported",
        "The data is invalid or the request is not supported.",
    ),
    ErrorCode(0x8007000E, "E_OUTOFMEMORY", "HcsError", "Not enough memory."),
    ErrorCode(
        0x8007001F,
        "ERROR_GEN_FAILURE",
        "HcsError",
        "A device attached to the system is not functioning.",
    ),
    ErrorCode(0x80070032, "ERROR_NOT_SUPPORTED", "NotSupported", "The request is not supported."),
    ErrorCode(0x80070057, "E_INVALIDARG", "InvalidArgument", "One or more arguments are invalid."),
    ErrorCode(
        0x8007007E, "ERROR_MOD_NOT_FOUND", "LibraryNotFound", "The HCS library could not be loaded."
    ),
    ErrorCode(
        0x8007007F,
        "ERROR_PROC_NOT_FOUND",
        "ExportNotFound",
        "The HCS library does not export this function.",
    ),
    ErrorCode(
        0x80070490,
        "ERROR_NOT_FOUND",
        "ProcessNotFound",
        "Element not found (the process exited or does not exist).",
    ),
    ErrorCode(0x800704C7, "ERROR_CANCELLED", "Cancelled", "The operation was cancelled."),
    ErrorCode(0x80004001, "E_NOTIMPL", "NotSupported", "Not implemented."),
    # hcsaio's own: a call or a wait on a handle that close() released (the
    # error hcsshim calls ErrAlreadyClosed). HCS never returns RO_E_CLOSED,
    # so the code names this case alone.
    ErrorCode(0x80000013, "RO_E_CLOSED", "HandleClosed", "The handle has been closed."),
    ErrorCode(0x80004003, "E_POINTER", "InvalidArgument", "Invalid pointer."),
    ErrorCode(0x80004005, "E_FAIL", "HcsError", "Unspecified failure."),
    ErrorCode(0x8000FFFF, "E_UNEXPECTED", "HcsError", "Catastrophic failure."),
)
