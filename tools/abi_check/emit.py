"""Build the list of ABI checks and the C translation unit that asserts them.

The translation unit includes the SDK headers, then a copy of our
declarations with every identifier they declare renamed ``hcsaio_<name>``
(our header uses the SDK's own names, so it cannot sit beside them as is),
then ``_Static_assert``s. Types are compared in two ways:

* a scalar typedef of ours (``typedef int32_t HRESULT``) against the SDK's
  (``long``): size, alignment and signedness, because LLP64 ``long`` and
  ``int32_t`` are different C types of the same ABI;
* everything built from typedef names (pointers, handles, callbacks, every
  export's function type, struct fields): our declaration's *text* is
  re-read with the SDK's names in scope and must be
  ``__builtin_types_compatible_p`` with the SDK's type. That checks
  parameter count, order, pointer levels and const; combined with the
  scalar checks it proves the two declarations have the same ABI.

Every declaration of ours must end up compared or listed in ``absent.py``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from . import absent
from .decls import INTEGER_TEXTS, Declarations, HresultMacro, rename, type_identifiers
from .sdk import Sdk

PREFIX = "hcsaio_"
VIEW = "hcsaio_sdkview_"

#: Our constants whose SDK counterpart has another name.
SDK_CONSTANT_NAMES = {"HCS_GENERIC_ALL": "GENERIC_ALL", "HCS_INFINITE": "INFINITE"}

#: x64 layouts stated by the reference (sections 2 and 8): size and field offsets.
DOCUMENTED_LAYOUTS: dict[str, tuple[int, dict[str, int]]] = {
    "GUID": (16, {"Data1": 0, "Data2": 4, "Data3": 6, "Data4": 8}),
    "HCS_EVENT": (24, {"Type": 0, "EventData": 8, "Operation": 16}),
    "HCS_PROCESS_INFORMATION": (
        32,
        {"ProcessId": 0, "Reserved": 4, "StdInput": 8, "StdOutput": 16, "StdError": 24},
    ),
    "HCS_CREATE_OPTIONS_1": (
        48,
        {
            "Version": 0,
            "UserToken": 8,
            "SecurityDescriptor": 16,
            "CallbackOptions": 24,
            "CallbackContext": 32,
            "Callback": 40,
        },
    ),
    "HCN_PORT_RANGE_RESERVATION": (4, {"startingPort": 0, "endingPort": 2}),
    "HCN_PORT_RANGE_ENTRY": (
        64,
        {
            "OwningPartitionId": 0,
            "TargetPartitionId": 16,
            "Protocol": 32,
            "Priority": 40,
            "ReservationType": 48,
            "SharingFlags": 52,
            "DeliveryMode": 56,
            "StartingPort": 60,
            "EndingPort": 62,
        },
    ),
}


@dataclass(frozen=True)
class Check:
    kind: str  # "base type", "type", "struct", "callback", "export", "constant", ...
    subject: str
    detail: str
    asserts: tuple[tuple[str, str], ...] = ()  # (C condition, message)


@dataclass(frozen=True)
class Skipped:
    kind: str
    subject: str
    reason: str


@dataclass
class Plan:
    checks: list[Check] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: SDK functions the link check takes the address of
    linked: list[str] = field(default_factory=list)
    #: sdk-view typedefs to emit before the asserts
    views: list[str] = field(default_factory=list)

    def add(self, kind: str, subject: str, detail: str, *asserts: tuple[str, str]) -> None:
        self.checks.append(Check(kind, subject, detail, tuple(asserts)))

    def skip_or_fail(self, kind: absent.Kind, name: str, what: str) -> None:
        entry = absent.find(kind, name)
        if entry is None:
            self.problems.append(
                f"{what} {name}: not in the SDK headers and not listed in "
                "tools/abi_check/absent.py (check it or list it with a reason)"
            )
        else:
            self.skipped.append(Skipped(what, name, entry.reason))


def _same_size(ours: str, sdk: str, subject: str) -> tuple[str, str]:
    return (f"sizeof({ours}) == sizeof({sdk})", f"{subject}: size differs from the SDK")


def _same_sign(ours: str, sdk: str, subject: str) -> tuple[str, str]:
    return (
        f"(({ours})-1 > ({ours})0) == (({sdk})-1 > ({sdk})0)",  # "is unsigned"
        f"{subject}: signedness differs from the SDK",
    )


def _compatible(a: str, b: str, subject: str) -> tuple[str, str]:
    return (f"__builtin_types_compatible_p({a}, {b})", f"{subject}: type differs from the SDK")


def _plan_aliases(decls: Declarations, sdk: Sdk, plan: Plan) -> None:
    for alias in decls.aliases.values():
        name = alias.name
        if not sdk.has_identifier(name):
            plan.skip_or_fail("type", name, "type")
            continue
        ours = PREFIX + name
        if alias.is_integer:
            if sdk.is_enum(name):
                # MSVC gives every C enum the type int; gcc makes an enum with no
                # negative value unsigned. int32 follows MSVC; only the size is ABI.
                plan.add(
                    "enum type",
                    name,
                    f"{alias.text} vs SDK enum: size",
                    _same_size(ours, name, name),
                )
            else:
                plan.add(
                    "base type",
                    name,
                    f"{alias.text} vs SDK: size, alignment, signedness",
                    _same_size(ours, name, name),
                    (f"_Alignof({ours}) == _Alignof({name})", f"{name}: alignment differs"),
                    _same_sign(ours, name, name),
                )
            continue
        plan.views.append(f"typedef {alias.text} {VIEW}{name};")
        asserts = [_compatible(VIEW + name, name, name)]
        if "*" in alias.text:  # a bare struct tag is incomplete: no size to compare
            asserts.append(_same_size(ours, name, name))
        plan.add("type", name, f"`{alias.text}` under SDK names is the SDK's {name}", *asserts)


def _plan_structs(decls: Declarations, sdk: Sdk, plan: Plan) -> None:
    for struct in decls.structs.values():
        name = struct.name
        if not sdk.has_identifier(name):
            plan.skip_or_fail("type", name, "struct")
            continue
        ours = PREFIX + name
        asserts = [
            _same_size(ours, name, name),
            (f"_Alignof({ours}) == _Alignof({name})", f"{name}: alignment differs from the SDK"),
        ]
        for f in struct.fields:
            subject = f"{name}.{f.name}"
            our_member = f"((({ours} *)0)->{f.name})"
            sdk_member = f"((({name} *)0)->{f.name})"
            asserts.append(
                (
                    f"offsetof({ours}, {f.name}) == offsetof({name}, {f.name})",
                    f"{subject}: offset differs from the SDK",
                )
            )
            asserts.append(
                (
                    f"sizeof({our_member}) == sizeof({sdk_member})",
                    f"{subject}: size differs from the SDK",
                )
            )
            if f.type_text in INTEGER_TEXTS:
                element = f"{sdk_member}[0]" if f.array else sdk_member
                our_element = f"{our_member}[0]" if f.array else our_member
                asserts.append(
                    _same_sign(f"__typeof__({our_element})", f"__typeof__({element})", subject)
                )
            else:
                text = f"{f.type_text}[{f.array}]" if f.array else f.type_text
                asserts.append(_compatible(f"__typeof__({sdk_member})", text, subject))
        plan.add(
            "struct",
            name,
            f"sizeof, alignment and {len(struct.fields)} fields (offset, size, type)",
            *asserts,
        )


def _plan_functions(decls: Declarations, sdk: Sdk, plan: Plan, exports: list[str]) -> None:
    known_types = decls.type_names()
    for fp in decls.funcptrs.values():
        unknown = type_identifiers(fp.type_text()) - known_types - {p.name for p in fp.params}
        if unknown:
            plan.problems.append(f"{fp.name} uses types hcsaio does not declare: {sorted(unknown)}")
        view = fp.declare(VIEW + fp.name)  # emitted only where compared: absent
        # exports may use types the SDK lacks too
        if not fp.name.startswith("PFN_"):
            if sdk.has_identifier(fp.name):
                plan.views.append(view)
                plan.add(
                    "callback",
                    fp.name,
                    f"`{fp.type_text()}` under SDK names is the SDK's {fp.name}",
                    _compatible(VIEW + fp.name, fp.name, fp.name),
                )
            else:
                plan.skip_or_fail("type", fp.name, "callback type")
            continue
        export = fp.name.removeprefix("PFN_")
        if sdk.has_function(export):
            plan.views.append(view)
            plan.linked.append(export)
            plan.add(
                "export",
                export,
                f"PFN_{export} under SDK names is __typeof__(&{export})",
                _compatible(VIEW + fp.name, f"__typeof__(&{export})", export),
            )
            continue
        entry = absent.find("export", export)
        if entry is not None and entry.same_shape_as and sdk.has_function(entry.same_shape_as):
            plan.views.append(view)
            plan.add(
                "export (same shape)",
                export,
                f"absent ({entry.reason}); compared with {entry.same_shape_as}",
                _compatible(VIEW + fp.name, f"__typeof__(&{entry.same_shape_as})", export),
            )
        plan.skip_or_fail("export", export, "export")
    for export in exports:
        if f"PFN_{export}" not in decls.funcptrs:
            plan.problems.append(f"{export} is bound (hcs_exports.h) but has no PFN_{export}")


def _plan_constants(decls: Declarations, sdk: Sdk, plan: Plan) -> None:
    for const in decls.constants.values():
        sdk_name = SDK_CONSTANT_NAMES.get(const.name, const.name)
        if not sdk.has_identifier(sdk_name):
            plan.skip_or_fail("constant", const.name, "constant")
            continue
        width = "unsigned long long" if const.value > 0xFFFFFFFF else "uint32_t"
        if const.value < -(2**31) or const.value > 0xFFFFFFFFFFFFFFFF:
            plan.problems.append(f"{const.name} = {const.literal} does not fit its type")
        plan.add(
            "constant",
            const.name,
            f"{const.literal} == SDK {sdk_name}",
            (
                f"({width})({PREFIX}{const.name}) == ({width})({sdk_name})",
                f"{const.name}: value differs from the SDK's {sdk_name}",
            ),
        )
    # The other direction: an SDK enum we mirror must not have values we lack.
    for alias in decls.aliases.values():
        if alias.is_integer and sdk.is_enum(alias.name):
            missing = [e for e in sdk.enums[alias.name] if e not in decls.constants]
            if missing:
                plan.problems.append(f"{alias.name}: the SDK has values hcsaio lacks: {missing}")
            else:
                plan.add(
                    "enum completeness",
                    alias.name,
                    f"all {len(sdk.enums[alias.name])} SDK enumerators are declared",
                )


def _from_win32(code: str) -> str:
    return f"__HRESULT_FROM_WIN32({code})"


def _plan_hresults(macros: list[HresultMacro], sdk: Sdk, plan: Plan) -> None:
    for macro in macros:
        asserts = []
        if sdk.has_error(macro.sdk_name):
            asserts.append(
                (
                    f"(uint32_t)({macro.name}) == (uint32_t)({macro.sdk_name})",
                    f"{macro.name}: differs from winerror.h's {macro.sdk_name}",
                )
            )
        if macro.win32 is not None:
            if not sdk.has_error(macro.win32):
                plan.problems.append(f"{macro.name}: winerror.h has no {macro.win32}")
            asserts.append(
                (
                    f"(uint32_t)({macro.name}) == (uint32_t){_from_win32(macro.win32)}",
                    f"{macro.name}: is not HRESULT_FROM_WIN32({macro.win32})",
                )
            )
        if asserts:
            detail = " and ".join(
                ([f"winerror.h {macro.sdk_name}"] if sdk.has_error(macro.sdk_name) else [])
                + ([f"HRESULT_FROM_WIN32({macro.win32})"] if macro.win32 else [])
            )
            plan.add(
                "HRESULT (hcs_errors.h)", macro.name, f"0x{macro.value:08X} == {detail}", *asserts
            )
        else:
            plan.skip_or_fail("error", macro.sdk_name, "HRESULT macro")


def load_error_table(path: Path) -> list[tuple[int, str]]:
    """(value, name) pairs of hcsaio/_errors_table.py, loaded without importing hcsaio."""
    spec = importlib.util.spec_from_file_location("_hcsaio_errors_table", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [(int(e.hresult), str(e.name)) for e in module.ERROR_TABLE]


def _plan_error_table(table: Iterable[tuple[int, str]], sdk: Sdk, plan: Plan) -> None:
    for value, name in table:
        if not sdk.has_error(name):
            plan.skip_or_fail("error", name, "error table entry")
            continue
        is_win32 = name.startswith("ERROR_") and (value >> 16) == 0x8007
        sdk_value = _from_win32(name) if is_win32 else name
        plan.add(
            "HRESULT (_errors_table.py)",
            name,
            f"0x{value:08X} == {'HRESULT_FROM_WIN32(' + name + ')' if is_win32 else name}",
            (
                f"(uint32_t)0x{value:08X}u == (uint32_t)({sdk_value})",
                f"_errors_table.py {name}: differs from winerror.h",
            ),
        )


def documented_layout_asserts(prefix: str) -> list[tuple[str, str]]:
    """Our structs against the x64 sizes/offsets the reference states."""
    out = []
    for name, (size, offsets) in DOCUMENTED_LAYOUTS.items():
        out.append((f"sizeof({prefix}{name}) == {size}", f"{name}: not {size} bytes as documented"))
        for fname, offset in offsets.items():
            out.append(
                (
                    f"offsetof({prefix}{name}, {fname}) == {offset}",
                    f"{name}.{fname}: not at offset {offset} as documented",
                )
            )
    return out


def plan_checks(
    decls: Declarations,
    sdk: Sdk,
    exports: list[str],
    hresults: list[HresultMacro],
    error_table: list[tuple[int, str]],
) -> Plan:
    plan = Plan()
    _plan_aliases(decls, sdk, plan)
    _plan_structs(decls, sdk, plan)
    _plan_functions(decls, sdk, plan, exports)
    _plan_constants(decls, sdk, plan)
    _plan_hresults(hresults, sdk, plan)
    _plan_error_table(error_table, sdk, plan)
    missing_docs = set(DOCUMENTED_LAYOUTS) - set(decls.structs)
    if missing_docs:
        plan.problems.append(f"documented layouts of undeclared structs: {sorted(missing_docs)}")
    plan.add(
        "documented layout",
        ", ".join(DOCUMENTED_LAYOUTS),
        "x64 sizes and offsets stated by the reference",
        *documented_layout_asserts(PREFIX),
    )
    # A listed absence the SDK now has is stale: the item must be compared.
    for entry in absent.ABSENT:
        if "*" in entry.pattern:
            continue
        present = (
            sdk.has_function(entry.pattern)
            if entry.kind == "export"
            else sdk.has_error(entry.pattern)
            if entry.kind == "error"
            else sdk.has_identifier(entry.pattern)
        )
        if present:
            plan.problems.append(
                f"{entry.pattern} is listed as absent but the SDK declares it: "
                "remove it from tools/abi_check/absent.py"
            )
    return plan


def _c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def translation_unit(decls: Declarations, plan: Plan) -> str:
    """The mingw-w64 check TU: SDK headers, renamed copy of ours, asserts."""
    names = decls.declared_identifiers()
    lines = [
        "/* Generated by tools/gen_abi_check.py: hcsaio's declarations against the SDK. */",
        "#define WIN32_LEAN_AND_MEAN",
        "#include <windows.h>",
        "#include <objbase.h>",
        "#include <computecore.h>",
        "#include <computenetwork.h>",
        "#include <computestorage.h>",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <uchar.h>",
        '#include "hcs_errors.h"',
        "",
        "/* ---- hcsaio's declarations, every identifier prefixed hcsaio_ ---- */",
    ]
    for header, body in decls.bodies:
        lines.append(f"/* {header} */")
        lines.append(rename(body, names, PREFIX).strip())
        lines.append("")
    lines.append("/* ---- hcsaio's type texts re-read with the SDK's names in scope ---- */")
    lines.extend(plan.views)
    lines.append("")
    lines.append("/* ---- checks ---- */")
    for check in plan.checks:
        lines.append(f"/* {check.kind}: {check.subject} ({check.detail}) */")
        for cond, message in check.asserts:
            lines.append(f"_Static_assert({cond}, {_c_string(message)});")
    lines.append("")
    lines.append("/* ---- link: each compared export resolves in the import libraries ---- */")
    lines.append("typedef void (*hcsaio_any_fn)(void);")
    lines.append("static const hcsaio_any_fn hcsaio_linked[] = {")
    lines.extend(f"    (hcsaio_any_fn)&{name}," for name in plan.linked)
    lines.append("};")
    lines.append("")
    lines.append("int main(void) {")
    lines.append("    size_t n = 0;")
    lines.append("    for (size_t i = 0; i < sizeof hcsaio_linked / sizeof hcsaio_linked[0]; i++)")
    lines.append("        n += hcsaio_linked[i] != NULL;")
    lines.append("    return n == sizeof hcsaio_linked / sizeof hcsaio_linked[0] ? 0 : 1;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def host_translation_unit() -> str:
    """A TU for the host compiler: our headers alone must have the documented
    x64 layouts on Linux too (the emulator and cffi use them there)."""
    lines = [
        "/* Generated by tools/gen_abi_check.py: hcsaio's layouts with the host compiler. */",
        "#include <stddef.h>",
        '#include "hcs_defs.h"',
        '#include "hcn_defs.h"',
        '#include "hcs_storage_defs.h"',
        "",
    ]
    for cond, message in documented_layout_asserts(""):
        lines.append(f"_Static_assert({cond}, {_c_string(message)});")
    return "\n".join(lines) + "\n"
