"""The HRESULTs the service answers with, and the failure it raises.

Values are the reference's (§6); the service keeps its own copy instead of
importing hcsaio's error table so that the emulator checks hcsaio rather
than agreeing with it by construction.
"""

from __future__ import annotations

import json

S_OK = 0
E_FAIL = 0x80004005
E_INVALIDARG = 0x80070057
E_ACCESSDENIED = 0x80070005
E_HANDLE = 0x80070006
ERROR_FILE_NOT_FOUND = 0x80070002
ERROR_DIRECTORY = 0x8007010B  # HRESULT_FROM_WIN32(ERROR_DIRECTORY): bad working directory
ERROR_NOT_SUPPORTED = 0x80070032
ERROR_NOT_FOUND = 0x80070490
ERROR_CANCELLED = 0x800704C7

HCS_E_HYPERV_NOT_INSTALLED = 0x80370102
HCS_E_INVALID_STATE = 0x80370105
HCS_E_INVALID_JSON = 0x8037010D
HCS_E_SYSTEM_NOT_FOUND = 0x8037010E
HCS_E_SYSTEM_ALREADY_EXISTS = 0x8037010F
HCS_E_SYSTEM_ALREADY_STOPPED = 0x80370110
HCS_E_PROCESS_ALREADY_STOPPED = 0x8037011F
HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION = 0x80370120


def as_int32(hresult: int) -> int:
    """The HRESULT as the signed 32-bit value HCS puts on the wire."""
    hresult &= 0xFFFFFFFF
    return hresult - (1 << 32) if hresult & 0x80000000 else hresult


class HcsFailure(Exception):
    """An operation failed with ``hresult``; ``message`` goes into the
    ResultError document exactly as HCS would phrase it for a human."""

    def __init__(self, hresult: int, message: str) -> None:
        super().__init__(message)
        self.hresult = hresult & 0xFFFFFFFF
        self.message = message

    def result_error(self) -> str:
        """The ResultError document (reference §5)."""
        return json.dumps(
            {
                "Error": as_int32(self.hresult),
                "ErrorMessage": self.message,
                "ErrorEvents": [
                    {"Message": self.message, "Source": "hcsemu", "Provider": _PROVIDER}
                ],
            }
        )


class Cancelled(HcsFailure):
    """HcsCancelOperation stopped the work where it was waiting."""

    def __init__(self) -> None:
        super().__init__(ERROR_CANCELLED, "The operation was cancelled by HcsCancelOperation.")


# A fixed provider GUID for the emulator's error events (ErrorEvent.Provider).
_PROVIDER = "6b1e4f1c-3c7a-4e55-9a43-8a2f4c0d5e11"
