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
  library lacks instead of jumping through a NULL pointer;
* one worker thunk per synchronous-capable export (``hb_sync_exports``,
  used by ``bridge/workers.c``), from the same typedefs.

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


#: How a synchronous call's parameters cross to a worker, by C type:
#: strings are copied at submit ("s"), integers ("i") and handles ("p") are
#: values. Any other in-parameter (a struct or callback pointer whose memory
#: Python would have to keep alive for a call it may stop waiting for) makes
#: the export ineligible for the workers.
_SYNC_IN: dict[str, str] = {
    "PCWSTR": "s",
    "DWORD": "i",
    "ULONG": "i",
    "UINT32": "i",
    "UINT64": "i",
    "BOOL": "i",
    "HCS_EVENT_OPTIONS": "i",
    "HCS_SYSTEM": "p",
    "HCS_PROCESS": "p",
    "HCS_OPERATION": "p",
    "HANDLE": "p",
}
#: Out-parameters: returned strings ("t", freed with the library's LocalFree
#: after conversion), process information ("P"), and handles ("h") with the
#: export that closes one nobody took.
_SYNC_OUT_TEXT = ("PWSTR*", "PCWSTR*")
_SYNC_OUT_INFO = "HCS_PROCESS_INFORMATION*"
_SYNC_CLOSERS: dict[str, str] = {
    "HCS_SYSTEM": "HcsCloseComputeSystem",
    "HCS_PROCESS": "HcsCloseProcess",
    "HCS_OPERATION": "HcsCloseOperation",
}


def _ctype(raw: str) -> str:
    """A parameter type without spacing variants: ``PWSTR *`` -> ``PWSTR*``."""
    return re.sub(r"\s*\*", "*", re.sub(r"\s+", " ", raw.strip()))


def _sync_thunk(
    name: str, ret: str, params: list[tuple[str, str]], used: set[str]
) -> tuple[str, str] | None:
    """(definition, table entry) of the worker thunk of one export, or None
    if the export cannot run on the workers. Adds the handle types whose
    closer the entry names to ``used``."""
    if ret != "HRESULT":
        return None
    ins, outs, out_types, closers, locals_, args, stores = [], [], [], [], [], [], []
    for ptype, _ in params:
        t = _ctype(ptype)
        if t in _SYNC_IN:
            kind = _SYNC_IN[t]
            cast = f"({t})(uintptr_t)in[{len(ins)}]" if kind != "i" else f"({t})in[{len(ins)}]"
            args.append(cast)
            ins.append(kind)
            continue
        k = len(outs)
        if t in _SYNC_OUT_TEXT:
            base = t[:-1]
            locals_.append(f"{base} o{k} = NULL;")
            stores.append(f"out[{k}].text = (PWSTR)o{k};")
            outs.append("t")
            closers.append("NULL")
        elif t == _SYNC_OUT_INFO:
            locals_.append(f"HCS_PROCESS_INFORMATION o{k} = {{0}};")
            stores.append(f"out[{k}].info = o{k};")
            outs.append("P")
            closers.append("NULL")
        elif t.endswith("*") and t[:-1] in _SYNC_CLOSERS:
            base = t[:-1]
            locals_.append(f"{base} o{k} = NULL;")
            stores.append(f"out[{k}].handle = (void *)o{k};")
            outs.append("h")
            closers.append(f"hb_sync_close_{base}")
        else:
            return None
        out_types.append(t[:-1])
        args.append(f"&o{k}")
    if len(ins) > 8 or len(outs) > 4:  # HB_SYNC_MAX_ARGS, HB_SYNC_MAX_OUTS
        return None
    used.update(c.removeprefix("hb_sync_close_") for c in closers if c != "NULL")
    body = "\n    ".join(
        [*locals_, f"HRESULT hr = api->{name}({', '.join(args)});", *stores, "return hr;"]
    )
    definition = (
        f"static HRESULT hb_sync_{name}(const hb_computecore *api, const uint64_t *in, "
        f"hb_sync_raw *out) {{\n    (void)in;\n    (void)out;\n    {body}\n}}\n"
    )
    closer_list = ", ".join(closers) or "NULL"
    entry = (
        f'    {{hb_sync_{name}, "{"".join(ins)}", "{"".join(outs)}", '
        f'"{",".join(out_types)}", {{{closer_list}}}}}, /* {name} */'
    )
    return definition, entry


def sync_thunks() -> str:
    """C definitions of the worker thunks and the table workers.c indexes by
    export (hcs_exports.h order): one typed call per eligible export, so
    submitting a call from Python marshals no function pointer."""
    sigs = pfn_signatures()
    thunks, entries = [], []
    used: set[str] = set()
    for name in exports():
        ret, params = sigs[name]
        made = _sync_thunk(name, ret, params, used)
        if made is None:
            entries.append(f'    {{NULL, "", "", "", {{NULL}}}}, /* {name}: not on the workers */')
            continue
        thunks.append(made[0])
        entries.append(made[1])
    closers = [
        f"static void hb_sync_close_{handle_type}(const hb_computecore *api, void *h) {{\n"
        f"    if (api->{closer} != NULL) {{\n        api->{closer}(({handle_type})h);\n    }}\n}}\n"
        for handle_type, closer in _SYNC_CLOSERS.items()
        if handle_type in used
    ]
    table = "const hb_sync_export hb_sync_exports[] = {\n" + "\n".join(entries) + "\n};\n"
    return "\n".join([*closers, *thunks, table])


def wrappers() -> tuple[str, str]:
    """(cdef declarations, C definitions) of the hb_call_* wrappers, and
    the worker thunks of the synchronous calls (definitions only)."""
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
    return "\n".join(decls), "\n".join(defs) + "\n" + sync_thunks()


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
            for f in ("dispatcher.c", "loader.c", "platform.c", "workers.c")
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
