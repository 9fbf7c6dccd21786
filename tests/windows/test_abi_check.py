"""tools/gen_abi_check.py: passes on our headers, and catches each kind of
mismatch when a header is deliberately broken (so a green check means
something)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "_cffi_build" / "include"
TOOLS = REPO / "tools"
SCRIPT = TOOLS / "gen_abi_check.py"


def run_check(mingw_cc: str, include_dir: Path = INCLUDE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--cc", mingw_cc, "--include-dir", str(include_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_our_declarations_match_the_sdk(mingw_cc: str) -> None:
    result = run_check(mingw_cc)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "ABI check passed" in out
    # Every bound export appears, compared or listed with a reason (parsed
    # here independently of the tool's own parser).
    exports = re.findall(r"^\s*X\((\w+)\)", (INCLUDE / "hcs_exports.h").read_text(), re.M)
    assert exports, "no X(...) lines found in hcs_exports.h"
    for export in exports:
        assert re.search(rf"\b{export}\b", out), f"{export} missing from the report"


# (file, exact text, replacement, what the failure must name)
MUTATIONS = [
    pytest.param(
        "hcs_defs.h",
        "typedef int32_t HRESULT;",
        "typedef int64_t HRESULT;",
        "HRESULT: size differs",
        id="base-type-width",
    ),
    pytest.param(
        "hcs_defs.h",
        "typedef uint32_t DWORD;",
        "typedef int32_t DWORD;",
        "DWORD: signedness differs",
        id="base-type-sign",
    ),
    pytest.param(
        "hcs_defs.h",
        "typedef struct HCS_SYSTEM__ *HCS_SYSTEM;",
        "typedef void *HCS_SYSTEM;",
        "HCS_SYSTEM: type differs",
        id="handle-not-declare-handle",
    ),
    pytest.param(
        "hcs_defs.h",
        "(HCS_SYSTEM computeSystem, PCWSTR processParameters, HCS_OPERATION operation,",
        "(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR processParameters,",
        "HcsCreateProcess: type differs",
        id="export-parameter-order",
    ),
    pytest.param(
        "hcs_defs.h",
        "(HCS_PROCESS process, HCS_EVENT_OPTIONS callbackOptions, void *context,",
        "(HCS_PROCESS process, HCS_EVENT_OPTIONS callbackOptions, const void *context,",
        "HcsSetProcessCallback: type differs",
        id="export-const-pointer",
    ),
    pytest.param(
        "hcs_defs.h",
        "typedef UINT64 (*PFN_HcsGetOperationId)(HCS_OPERATION operation);",
        "typedef DWORD (*PFN_HcsGetOperationId)(HCS_OPERATION operation);",
        "HcsGetOperationId: type differs",
        id="export-return-type",
    ),
    pytest.param(
        "hcs_defs.h",
        "    PCWSTR EventData;\n    HCS_OPERATION Operation;",
        "    HCS_OPERATION Operation;\n    PCWSTR EventData;",
        "HCS_EVENT.EventData: offset differs",
        id="struct-field-order",
    ),
    pytest.param(
        "hcs_defs.h",
        "    void *CallbackContext;\n",
        "",
        "HCS_CREATE_OPTIONS_1: size differs",
        id="struct-missing-field",
    ),
    pytest.param(
        "hcn_defs.h",
        "    UINT64 Priority;",
        "    UINT32 Priority;",
        "HCN_PORT_RANGE_ENTRY.Priority: offset differs",
        id="hcn-struct-field-width",
    ),
    pytest.param(
        "hcs_defs.h",
        "#define HcsEventProcessExited 0x00010000",
        "#define HcsEventProcessExited 0x00010001",
        "HcsEventProcessExited: value differs",
        id="enum-value",
    ),
    pytest.param(
        "hcs_defs.h",
        "#define HcsNotificationFlagsReserved 0xF0000000",
        "#define HcsNotificationFlagsReserved 0x70000000",
        "HcsNotificationFlagsReserved: value differs",
        id="enum-value-above-int-max",
    ),
    pytest.param(
        "hcs_defs.h",
        "#define HcsEventServiceDisconnect 0x02000000\n",
        "",
        "the SDK has values hcsaio lacks: ['HcsEventServiceDisconnect']",
        id="enum-value-missing",
    ),
    pytest.param(
        "hcs_errors.h",
        "#define E_PROC_NOT_FOUND_HR HB_HR(0x8007007Fu)",
        "#define E_PROC_NOT_FOUND_HR HB_HR(0x8007007Eu)",
        "E_PROC_NOT_FOUND_HR: is not HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND)",
        id="hresult-macro",
    ),
    pytest.param(
        "hcs_storage_defs.h",
        "typedef HRESULT (*PFN_HcsDestroyLayer)(PCWSTR layerPath);",
        "typedef HRESULT (*PFN_HcsDestroyLayer)(PWSTR layerPath);",
        "HcsDestroyLayer: type differs",
        id="storage-export",
    ),
    pytest.param(
        "hcs_defs.h",
        "typedef HRESULT (*PFN_HcsRevokeVmGroupAccess)(PCWSTR filePath);",
        "typedef HRESULT (*PFN_HcsRevokeVmGroupAccess)(PCWSTR filePath);\n"
        "typedef HRESULT (*PFN_HcsMadeUpExport)(PCWSTR filePath);",
        "HcsMadeUpExport: not in the SDK headers and not listed",
        id="unlisted-absent-export",
    ),
    pytest.param(
        "hcs_exports.h",
        "    X(HcsRevokeVmGroupAccess)",
        "    X(HcsRevokeVmGroupAccess) \\\n    X(HcsNoPfnTypedef)",
        "HcsNoPfnTypedef is bound (hcs_exports.h) but has no PFN_HcsNoPfnTypedef",
        id="bound-export-without-typedef",
    ),
]


@pytest.mark.parametrize(("header", "old", "new", "expected"), MUTATIONS)
def test_a_broken_declaration_fails_the_check(
    mingw_cc: str, tmp_path: Path, header: str, old: str, new: str, expected: str
) -> None:
    include = tmp_path / "include"
    shutil.copytree(INCLUDE, include)
    path = include / header
    text = path.read_text()
    assert text.count(old) == 1, f"mutation anchor not found once in {header}: {old!r}"
    path.write_text(text.replace(old, new))
    result = run_check(mingw_cc, include)
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the broken declaration passed the ABI check"
    assert expected in output, output[-3000:]
