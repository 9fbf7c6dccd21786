"""What the Windows SDK headers at hand (mingw-w64) declare.

Only presence is decided here, from the header text: which functions,
enum constants, macros and typedefs exist, and which typedefs are enums.
Whether a present declaration *matches* ours is decided by the compiler
in the generated check translation unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .decls import COMMENT

#: The HCS headers, in include order, and winerror.h for HRESULT names.
COMPUTE_HEADERS = ("computedefs.h", "computecore.h", "computenetwork.h", "computestorage.h")
ERROR_HEADER = "winerror.h"

#: Windows base declarations every windows.h has (winnt.h, minwindef.h,
#: guiddef.h, winbase.h, combaseapi.h): not scanned, always compared.
WINDOWS_BASE = frozenset(
    {
        "HRESULT",
        "DWORD",
        "ULONG",
        "USHORT",
        "UINT64",
        "UINT32",
        "UINT16",
        "BOOLEAN",
        "BOOL",
        "WCHAR",
        "PCWSTR",
        "PWSTR",
        "HANDLE",
        "GUID",
        "REFGUID",
        "SECURITY_DESCRIPTOR",
        "LocalFree",
        "CoTaskMemFree",
        "GENERIC_ALL",
        "INFINITE",
    }
)

_ENUM = re.compile(r"typedef\s+enum\s+\w*\s*\{(?P<body>[^}]*)\}\s*(?P<name>\w+)", re.S)
_ENUMERATOR = re.compile(r"(\w+)\s*(?:=\s*[^,]+)?(?:,|$)")


@dataclass
class Sdk:
    include_dir: Path
    #: comment-free text of the compute headers
    compute_text: str = ""
    error_text: str = ""
    #: SDK enum typedef name -> its enumerator names, in order
    enums: dict[str, list[str]] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)
    error_macros: set[str] = field(default_factory=set)

    def has_function(self, name: str) -> bool:
        return name in WINDOWS_BASE or name in self.functions

    def has_identifier(self, name: str) -> bool:
        """A typedef, enum constant or macro of that name exists."""
        return name in WINDOWS_BASE or name in self.identifiers

    def has_error(self, name: str) -> bool:
        return name in self.error_macros

    def is_enum(self, name: str) -> bool:
        return name in self.enums


def scan(include_dir: Path) -> Sdk:
    sdk = Sdk(include_dir)
    texts = []
    for header in COMPUTE_HEADERS:
        path = include_dir / header
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: is mingw-w64-x86-64-dev installed?")
        texts.append(COMMENT.sub(" ", path.read_text(errors="replace")))
    sdk.compute_text = "\n".join(texts)
    sdk.error_text = COMMENT.sub(" ", (include_dir / ERROR_HEADER).read_text(errors="replace"))
    for m in _ENUM.finditer(sdk.compute_text):
        names = [e.group(1) for e in _ENUMERATOR.finditer(m.group("body").strip())]
        sdk.enums[m.group("name")] = names
    sdk.functions = set(re.findall(r"\bWINAPI\s+(\w+)\s*\(", sdk.compute_text))
    sdk.identifiers = set(re.findall(r"\b[A-Za-z_]\w*\b", sdk.compute_text)) - sdk.functions
    sdk.error_macros = set(re.findall(r"#define\s+(\w+)\s", sdk.error_text))
    return sdk
