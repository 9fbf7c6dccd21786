"""Declarations hcsaio has that the SDK headers at hand (mingw-w64 10.0.0,
Debian 12) do not, each with the reason.

The check fails both ways: a declaration that is neither compared with the
SDK nor listed here, and a listed one the SDK turns out to have (then it
must be compared instead; delete its entry). Versions are those of the
version matrix in docs/hcs-rules.md, "Version matrix".

``same_shape_as`` names an SDK function with the same signature (the same
section of docs/hcs-rules.md lists them): the export's type is then compared
with that one, which checks everything but the name.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Literal

Kind = Literal["export", "type", "constant", "error"]

_NEWEST = "only in the newest computedefs/computecore (contract l1_2_5), after mingw-w64's copy"
_LM = "live migration: only in the newest computecore.h (l1_2_5), after mingw-w64's copy"
_22543 = "added in SDK 10.0.22543; mingw-w64's headers predate it"
_25131 = "added in SDK 10.0.25131; mingw-w64's headers predate it"
_OVERLAY = "newest computestorage.h and hcsshim (UnionFS overlays), after mingw-w64's copy"
_HCSSHIM = "bound by hcsshim, exported by the DLL, in no SDK header"
_NO_FACILITY_COMPUTE = (
    "mingw-w64's winerror.h has no FACILITY_COMPUTE (0x37) codes; "
    'values are from winerror.h of the Windows SDK (docs/hcs-rules.md, "HRESULT families")'
)


@dataclass(frozen=True)
class Absent:
    kind: Kind
    pattern: str  # a name, or an fnmatch pattern for families of error codes
    reason: str
    same_shape_as: str | None = None

    def matches(self, kind: Kind, name: str) -> bool:
        return kind == self.kind and fnmatch.fnmatchcase(name, self.pattern)


ABSENT: tuple[Absent, ...] = (
    # ---- computecore exports ----
    Absent("export", "HcsCreateOperationWithNotifications", _22543),
    Absent("export", "HcsAddResourceToOperation", _22543),
    Absent("export", "HcsGetOperationProperties", _25131),
    Absent("export", "HcsInitializeLiveMigrationOnSource", _LM, "HcsStartComputeSystem"),
    Absent("export", "HcsStartLiveMigrationOnSource", _LM, "HcsStartComputeSystem"),
    Absent("export", "HcsStartLiveMigrationTransfer", _LM, "HcsStartComputeSystem"),
    Absent("export", "HcsFinalizeLiveMigration", _LM, "HcsStartComputeSystem"),
    Absent("export", "HcsCancelLiveMigration", _HCSSHIM, "HcsStartComputeSystem"),
    # ---- computedefs types and constants ----
    Absent("type", "HCS_OPERATION_OPTIONS", _22543),
    Absent("type", "HCS_RESOURCE_TYPE", _22543),
    Absent("constant", "HcsOperationTypeReserved1", _25131),
    Absent("constant", "HcsOperationTypeReserved2", _NEWEST),
    Absent("constant", "HcsOperationTypeReserved3", _NEWEST),
    Absent("constant", "HcsOperationTypeLiveMigration", _NEWEST),
    Absent("constant", "HcsEventGroupVmLifecycle", _22543),
    Absent("constant", "HcsEventGroupLiveMigration", _NEWEST),
    Absent("constant", "HcsEventGroupOperationInfo", _22543),
    Absent("constant", "HcsEventOptionEnableVmLifecycle", _22543),
    Absent("constant", "HcsEventOptionEnableLiveMigrationEvents", _NEWEST),
    Absent("constant", "HcsOperationOptionNone", _22543),
    Absent("constant", "HcsOperationOptionProgressUpdate", _22543),
    Absent("constant", "HcsOperationOptionReserved1", _NEWEST),
    Absent("constant", "HcsResourceTypeNone", _22543),
    Absent("constant", "HcsResourceTypeFile", _22543),
    Absent("constant", "HcsResourceTypeJob", _22543),
    Absent("constant", "HcsResourceTypeComObject", _NEWEST),
    Absent("constant", "HcsResourceTypeSocket", _NEWEST),
    Absent("constant", "HcsNotificationOperationProgressUpdate", _22543),
    # ---- computenetwork ----
    Absent("export", "HcnQueryEndpointStats", _22543, "HcnQueryEndpointProperties"),
    Absent("export", "HcnQueryEndpointAddresses", _22543, "HcnQueryEndpointProperties"),
    Absent("export", "HcnEnumerateSdnRoutes", _HCSSHIM, "HcnEnumerateLoadBalancers"),
    Absent("export", "HcnCreateSdnRoute", _HCSSHIM, "HcnCreateLoadBalancer"),
    Absent("export", "HcnOpenSdnRoute", _HCSSHIM, "HcnOpenLoadBalancer"),
    Absent("export", "HcnModifySdnRoute", _HCSSHIM, "HcnModifyLoadBalancer"),
    Absent("export", "HcnQuerySdnRouteProperties", _HCSSHIM, "HcnQueryLoadBalancerProperties"),
    Absent("export", "HcnDeleteSdnRoute", _HCSSHIM, "HcnDeleteLoadBalancer"),
    Absent("export", "HcnCloseSdnRoute", _HCSSHIM, "HcnCloseLoadBalancer"),
    # ---- computestorage ----
    Absent(
        "export",
        "HcsAttachOverlayFilter",
        _OVERLAY,
        "HcsAttachLayerStorageFilter",
    ),
    Absent(
        "export",
        "HcsDetachOverlayFilter",
        _OVERLAY,
        "HcsAttachLayerStorageFilter",
    ),
    # ---- HRESULTs (hcs_errors.h and hcsaio/_errors_table.py) ----
    Absent("error", "HCS_E_*", _NO_FACILITY_COMPUTE),
    Absent("error", "ERROR_VMCOMPUTE_*", _NO_FACILITY_COMPUTE),
    Absent(
        "error",
        "RO_E_CLOSED",
        'winerror.h\'s 0x80000013 ("the object has been closed"), in the WinRT part of '
        "the Windows SDK that mingw-w64's winerror.h does not carry; hcsaio uses it for "
        "HandleClosed because HCS itself never returns it",
    ),
)


def find(kind: Kind, name: str) -> Absent | None:
    for entry in ABSENT:
        if entry.matches(kind, name):
            return entry
    return None
