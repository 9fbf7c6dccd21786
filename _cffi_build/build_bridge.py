"""cffi builder for ``hcsaio._bridge``, the compiled callback bridge.

Everything C lives in real files next to this script: ``include/hcs_defs.h``
(the HCS types and one function-pointer type per export),
``include/hcs_exports.h`` (the export list) and ``bridge/*.c``. This script
only glues them together:

* the cdef is those headers with their preprocessor lines removed (cffi
  understands plain declarations and integer ``#define`` constants only);
* one checked wrapper per export, ``hb_call_<Export>(library, ...)``, is
  generated from the export's ``PFN_`` typedef, so the signature exists once.
  A wrapper returns ``E_PROC_NOT_FOUND`` (0x8007007F) for an export the
  library lacks instead of jumping through a NULL pointer.

Set ``HCSAIO_SANITIZE=1`` to build with AddressSanitizer and UBSan
(``nox -s sanitize``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
INCLUDE = HERE / "include"
BRIDGE = HERE / "bridge"

_PFN = re.compile(r"typedef\s+(?P<ret>[^;]+?)\s*\(\*PFN_(?P<name>\w+)\)\((?P<params>[^;]*)\);")
_EXPORT = re.compile(r"^\s*X\((\w+)\)")


def cdef_text(path: Path) -> str:
    """The declarations of a header, without preprocessor lines (except
    integer ``#define`` constants, which cffi turns into Python ints)."""
    lines = []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            parts = stripped.split()
            if (
                len(parts) == 3
                and parts[0] == "#define"
                and re.fullmatch(r"-?(0x[0-9A-Fa-f]+|\d+)", parts[2])
            ):
                lines.append(stripped)
            continue
        lines.append(line)
    return "\n".join(lines)


def exports() -> list[str]:
    text = (INCLUDE / "hcs_exports.h").read_text()
    return [m.group(1) for line in text.splitlines() if (m := _EXPORT.match(line.rstrip(" \\")))]


def pfn_signatures() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Map export name to (return type, [(param type, param name), ...])."""
    text = (INCLUDE / "hcs_defs.h").read_text()
    result = {}
    for m in _PFN.finditer(text):
        params = []
        for raw in m.group("params").split(","):
            raw = raw.strip()
            if raw in ("", "void"):
                continue
            pm = re.fullmatch(r"(?P<type>.*?[\s*])(?P<pname>\w+)", raw)
            if pm is None:
                raise ValueError(f"cannot parse parameter {raw!r} of PFN_{m.group('name')}")
            params.append((pm.group("type").strip(), pm.group("pname")))
        result[m.group("name")] = (m.group("ret").strip(), params)
    return result


def _default_return(ret: str) -> str | None:
    """What a wrapper returns when the export is missing."""
    if ret == "void":
        return None
    if ret == "HRESULT":
        return "api == NULL ? E_HANDLE_HR : E_PROC_NOT_FOUND_HR"
    if ret == "UINT64":
        return "HCS_INVALID_OPERATION_ID"
    if ret == "HCS_OPERATION_TYPE":
        return "HcsOperationTypeNone"
    return "NULL"  # handles and pointers


def wrappers() -> tuple[str, str]:
    """(cdef declarations, C definitions) of the hb_call_* wrappers."""
    sigs = pfn_signatures()
    decls, defs = [], []
    for name in exports():
        if name not in sigs:
            raise ValueError(f"{name} is listed in hcs_exports.h but has no PFN_{name} typedef")
        ret, params = sigs[name]
        plist = ", ".join(["int32_t hb_lib"] + [f"{t} {p}" for t, p in params])
        args = ", ".join(p for _, p in params)
        proto = f"{ret} hb_call_{name}({plist})"
        decls.append(proto + ";")
        missing = _default_return(ret)
        fallback = "return;" if missing is None else f"return {missing};"
        call = f"api->{name}({args})"
        body = f"{call};" if missing is None else f"return {call};"
        defs.append(
            f"{proto} {{\n"
            f"    const hb_computecore *api = hb_library_api(hb_lib);\n"
            f"    if (api == NULL || api->{name} == NULL) {{ {fallback} }}\n"
            f"    {body}\n"
            f"}}\n"
        )
    return "\n".join(decls), "\n".join(defs)


def _compile_flags() -> tuple[list[str], list[str], list[str]]:
    if sys.platform == "win32":
        return ["/W3"], [], ["ws2_32", "kernel32"]
    compile_args = [
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-fvisibility=hidden",
    ]
    link_args: list[str] = []
    if os.environ.get("HCSAIO_SANITIZE") == "1":
        san = [
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=undefined",
        ]
        compile_args += [*san, "-O1", "-g"]
        link_args += san
    return compile_args, link_args, ["dl", "pthread"]


def make_ffi() -> FFI:
    ffi = FFI()
    decls, defs = wrappers()
    ffi.cdef(cdef_text(INCLUDE / "hcs_defs.h"))
    ffi.cdef(cdef_text(BRIDGE / "bridge.h"))
    ffi.cdef(decls)
    compile_args, link_args, libraries = _compile_flags()
    ffi.set_source(
        "hcsaio._bridge",
        '#include "bridge_internal.h"\n\n' + defs,
        sources=[
            str((BRIDGE / f).relative_to(HERE.parent))
            for f in ("dispatcher.c", "loader.c", "platform.c")
        ],
        include_dirs=[str(INCLUDE), str(BRIDGE)],
        define_macros=[("_GNU_SOURCE", "1")] if sys.platform != "win32" else [],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        libraries=libraries,
    )
    return ffi


ffibuilder = make_ffi()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
