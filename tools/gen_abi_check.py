#!/usr/bin/env python3
"""Check hcsaio's C declarations against the Windows SDK headers (mingw-w64).

usage: python tools/gen_abi_check.py [--cc CC] [--host-cc CC] [--out-dir DIR]
                                     [--include-dir DIR] [--print] [--no-compile]

Reads ``_cffi_build/include/{hcs_defs,hcn_defs,hcs_storage_defs}.h``, the
export list ``hcs_exports.h``, the HRESULT macros ``hcs_errors.h`` and the
Python table ``hcsaio/_errors_table.py``; scans the SDK's ``compute*.h`` and
``winerror.h``; writes a check translation unit and compiles it with mingw-w64
(``_Static_assert``: every compared type, struct layout, export signature,
constant and HRESULT), links it against ``libcomputecore``/``libcomputenetwork``/
``libcomputestorage`` (every compared export exists under that exact name), and
compiles a second one with the host compiler (our structs have the documented
x64 layout on Linux too). Exits 1 if a declaration is neither compared nor
listed in ``tools/abi_check/absent.py`` with a reason, or if a compile fails.

The generated C is not kept in git: it is a pure function of the files above,
regenerated and compiled on every run (``nox -s windows-abi``), so it cannot
drift; ``--print`` shows it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from abi_check import decls as decls_mod
from abi_check import emit, sdk

ROOT = Path(__file__).resolve().parents[1]
INCLUDE = ROOT / "_cffi_build" / "include"
DECL_HEADERS = ("hcs_defs.h", "hcn_defs.h", "hcs_storage_defs.h")
WARNINGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror"]
IMPORT_LIBS = ["-lcomputecore", "-lcomputenetwork", "-lcomputestorage", "-lole32"]


def find_sdk_include(cc: str) -> Path:
    """Where the compiler finds computecore.h (asking it, not guessing)."""
    probe = "#include <windows.h>\n#include <computecore.h>\n"
    out = subprocess.run(
        [*shlex.split(cc), "-M", "-x", "c", "-"],
        input=probe,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for word in out.replace("\\\n", " ").split():
        if word.endswith("/computecore.h"):
            return Path(word).parent
    raise FileNotFoundError(f"{cc} does not find computecore.h (install mingw-w64-x86-64-dev)")


def build_plan(include_dir: Path, sdk_include: Path) -> tuple[decls_mod.Declarations, emit.Plan]:
    decls = decls_mod.parse_headers([include_dir / h for h in DECL_HEADERS])
    plan = emit.plan_checks(
        decls,
        sdk.scan(sdk_include),
        decls_mod.bound_exports(include_dir / "hcs_exports.h"),
        decls_mod.hresult_macros(include_dir / "hcs_errors.h"),
        emit.load_error_table(ROOT / "hcsaio" / "_errors_table.py"),
    )
    return decls, plan


def report(plan: emit.Plan) -> str:
    lines = ["Compared with the SDK:"]
    by_kind = Counter(c.kind for c in plan.checks)
    asserts = sum(len(c.asserts) for c in plan.checks)
    for kind, n in sorted(by_kind.items()):
        subjects = ", ".join(c.subject for c in plan.checks if c.kind == kind)
        lines.append(f"  {kind} ({n}): {subjects}")
    lines.append(f"  = {len(plan.checks)} declarations, {asserts} static assertions")
    lines.append(f"  + link check of {len(plan.linked)} exports against the import libraries")
    lines.append(f"Absent from these SDK headers ({len(plan.skipped)}), by reason:")
    by_reason: dict[tuple[str, str], list[str]] = {}
    for item in plan.skipped:
        by_reason.setdefault((item.kind, item.reason), []).append(item.subject)
    for (kind, reason), names in by_reason.items():
        lines.append(f"  {kind} ({len(names)}) - {reason}:")
        lines.append(f"      {', '.join(names)}")
    shaped = [c for c in plan.checks if c.kind == "export (same shape)"]
    if shaped:
        lines.append(
            f"  ({len(shaped)} absent exports are still compared with an SDK function "
            "of the same documented shape, see 'export (same shape)')"
        )
    return "\n".join(lines)


def run(cmd: list[str]) -> None:
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cc", default=os.environ.get("MINGW_CC", "x86_64-w64-mingw32-gcc"))
    parser.add_argument("--host-cc", default=os.environ.get("CC", "cc"))
    parser.add_argument("--include-dir", type=Path, default=INCLUDE, help="our headers")
    parser.add_argument("--sdk-include", type=Path, help="default: where --cc finds them")
    parser.add_argument("--out-dir", type=Path, help="keep the generated files here")
    parser.add_argument("--print", action="store_true", help="print the check TU and exit")
    parser.add_argument("--no-compile", action="store_true", help="plan and report only")
    args = parser.parse_args(argv)

    sdk_include = args.sdk_include or find_sdk_include(args.cc)
    decls, plan = build_plan(args.include_dir, sdk_include)
    if plan.problems:
        print("ABI check cannot be complete:", file=sys.stderr)
        for problem in plan.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    source = emit.translation_unit(decls, plan)
    if args.print:
        sys.stdout.write(source)
        return 0
    print(f"SDK headers: {sdk_include}")
    print(report(plan))
    if args.no_compile:
        return 0

    with tempfile.TemporaryDirectory(prefix="hcsaio-abi-") as tmp:
        out = args.out_dir or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        (out / "abi_check.c").write_text(source)
        (out / "host_layout.c").write_text(emit.host_translation_unit())
        include = f"-I{args.include_dir}"
        try:
            run(
                [
                    *shlex.split(args.cc),
                    *WARNINGS,
                    include,
                    "-o",
                    str(out / "abi_check.exe"),
                    str(out / "abi_check.c"),
                    *IMPORT_LIBS,
                ]
            )
            run(
                [
                    *shlex.split(args.host_cc),
                    *WARNINGS,
                    "-fsyntax-only",
                    include,
                    str(out / "host_layout.c"),
                ]
            )
        except subprocess.CalledProcessError:
            print("ABI check FAILED (see the static assertion above)", file=sys.stderr)
            return 1
    print("ABI check passed: every declaration above matches the SDK headers.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
