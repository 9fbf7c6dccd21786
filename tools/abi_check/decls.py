"""Read hcsaio's own C declarations (hcs_defs.h and its siblings).

The headers follow a deliberately small C subset (they are also fed to
``cffi.FFI.cdef``): typedefs of scalars, pointers, struct tags, struct
bodies and function pointers, plus integer ``#define`` constants. This
parser accepts exactly that subset and raises on anything else, so a new
construct cannot slip past the ABI check unparsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_INT_LITERAL = re.compile(r"-?(0[xX][0-9A-Fa-f]+|\d+)[uUlL]*")
_IDENT = re.compile(r"[A-Za-z_]\w*")

#: C keywords and standard types that may appear in a type text.
C_WORDS = frozenset(
    {
        "const",
        "struct",
        "void",
        "char",
        "short",
        "int",
        "long",
        "unsigned",
        "signed",
        "int8_t",
        "int16_t",
        "int32_t",
        "int64_t",
        "uint8_t",
        "uint16_t",
        "uint32_t",
        "uint64_t",
        "char16_t",
        "size_t",
        "intptr_t",
        "uintptr_t",
    }
)

#: Type texts that are plain integers of a fixed width.
INTEGER_TEXTS = frozenset(
    {
        "int8_t",
        "int16_t",
        "int32_t",
        "int64_t",
        "uint8_t",
        "uint16_t",
        "uint32_t",
        "uint64_t",
        "char16_t",
    }
)


@dataclass(frozen=True)
class Param:
    type_text: str
    name: str


@dataclass(frozen=True)
class FuncPtr:
    """``typedef RET (*NAME)(PARAMS);``"""

    name: str
    ret: str
    params: tuple[Param, ...]
    header: str

    def type_text(self) -> str:
        params = ", ".join(f"{p.type_text} {p.name}" for p in self.params) or "void"
        return f"{self.ret} (*)({params})"

    def declare(self, as_name: str) -> str:
        params = ", ".join(f"{p.type_text} {p.name}" for p in self.params) or "void"
        return f"typedef {self.ret} (*{as_name})({params});"


@dataclass(frozen=True)
class Field:
    name: str
    type_text: str
    array: str | None = None  # the bound of `T name[N]`


@dataclass(frozen=True)
class Struct:
    """``typedef struct TAG { FIELDS } NAME;``"""

    name: str
    tag: str
    fields: tuple[Field, ...]
    header: str


@dataclass(frozen=True)
class Alias:
    """``typedef TEXT NAME;`` (scalars, pointers, struct tags)."""

    name: str
    text: str
    header: str

    @property
    def is_integer(self) -> bool:
        return self.text in INTEGER_TEXTS


@dataclass(frozen=True)
class Constant:
    name: str
    value: int
    literal: str
    header: str


@dataclass
class Declarations:
    aliases: dict[str, Alias] = field(default_factory=dict)
    structs: dict[str, Struct] = field(default_factory=dict)
    funcptrs: dict[str, FuncPtr] = field(default_factory=dict)
    constants: dict[str, Constant] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    #: each header's text without comments and preprocessor lines other than
    #: constant #defines, in reading order (what the check TU renames)
    bodies: list[tuple[str, str]] = field(default_factory=list)

    def type_names(self) -> set[str]:
        return set(self.aliases) | set(self.structs) | set(self.funcptrs)

    def declared_identifiers(self) -> set[str]:
        """Every file-scope identifier our headers declare (renamed in the check TU)."""
        return self.type_names() | self.tags | set(self.constants)

    def is_integer_type(self, text: str) -> bool:
        """True for an integer type text, following our typedefs."""
        text = text.strip()
        if text in INTEGER_TEXTS:
            return True
        alias = self.aliases.get(text)
        return alias is not None and self.is_integer_type(alias.text)


class DeclarationError(ValueError):
    pass


def _normalize(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s*(\*+)\s*", r" \1", text)  # "T*x", "T * x" -> "T *x"
    return re.sub(r"\s*([(),\[\]{}])\s*", r"\1", text)


def _split_declarations(text: str) -> list[str]:
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            out.append(text[start:i])
            start = i + 1
    if text[start:].strip():
        raise DeclarationError(f"unterminated declaration: {text[start:].strip()[:80]!r}")
    return [d.strip() for d in out if d.strip()]


def _split_type_and_name(decl: str, what: str) -> tuple[str, str]:
    m = re.fullmatch(r"(?P<type>.*?[\s*])(?P<name>[A-Za-z_]\w*)", decl.strip())
    if m is None:
        raise DeclarationError(f"cannot split {what} {decl!r} into a type and a name")
    return m.group("type").strip(), m.group("name")


def _parse_params(text: str, owner: str) -> tuple[Param, ...]:
    if text.strip() in ("", "void"):
        return ()
    params = []
    for raw in text.split(","):
        type_text, name = _split_type_and_name(raw, f"parameter of {owner}")
        params.append(Param(type_text, name))
    return tuple(params)


def _parse_fields(body: str, owner: str) -> tuple[Field, ...]:
    fields = []
    for raw in body.split(";"):
        raw = raw.strip()
        if not raw:
            continue
        array = None
        m = re.fullmatch(r"(.*)\[(\w+)\]", raw)
        if m:
            raw, array = m.group(1), m.group(2)
        type_text, name = _split_type_and_name(raw, f"field of {owner}")
        fields.append(Field(name, type_text, array))
    return tuple(fields)


def _preprocess(text: str, header: str, decls: Declarations) -> str:
    """Drop comments and preprocessor lines; record integer constants."""
    kept = []
    for line in COMMENT.sub(" ", text).splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            kept.append(line)
            continue
        parts = stripped.split(None, 2)
        if parts[0] in ("#ifndef", "#endif", "#include"):
            continue
        if parts[0] == "#define" and len(parts) == 2:
            continue  # include guard
        if parts[0] == "#define" and _INT_LITERAL.fullmatch(parts[2].strip()):
            literal = parts[2].strip()
            value = int(literal.rstrip("uUlL"), 0)
            decls.constants[parts[1]] = Constant(parts[1], value, literal, header)
            kept.append(f"#define {parts[1]} {literal}")
            continue
        raise DeclarationError(f"{header}: unsupported preprocessor line {stripped!r}")
    return "\n".join(kept)


def parse_header(path: Path, decls: Declarations) -> None:
    header = path.name
    body = _preprocess(path.read_text(), header, decls)
    decls.bodies.append((header, body))
    code = "\n".join(line for line in body.splitlines() if not line.startswith("#"))
    for raw in _split_declarations(code):
        decl = _normalize(raw)
        if not decl.startswith("typedef "):
            raise DeclarationError(f"{header}: only typedefs are expected, got {decl[:80]!r}")
        decl = decl[len("typedef ") :]
        if m := re.fullmatch(r"struct (\w+)\{(.*)\}(\w+)", decl):
            tag, fields, name = m.groups()
            decls.tags.add(tag)
            decls.structs[name] = Struct(name, tag, _parse_fields(fields, name), header)
        elif m := re.fullmatch(r"(.+?)\(\*(\w+)\)\((.*)\)", decl):
            ret, name, params = m.groups()
            decls.funcptrs[name] = FuncPtr(name, ret.strip(), _parse_params(params, name), header)
        else:
            text, name = _split_type_and_name(decl, "typedef")
            if tag := re.match(r"(?:const )?struct (\w+)", text):
                decls.tags.add(tag.group(1))
            decls.aliases[name] = Alias(name, text, header)


def parse_headers(paths: list[Path]) -> Declarations:
    decls = Declarations()
    for path in paths:
        parse_header(path, decls)
    return decls


def type_identifiers(text: str) -> set[str]:
    """The typedef names a type text refers to (C words excluded)."""
    return {w for w in _IDENT.findall(text) if w not in C_WORDS}


def rename(text: str, names: set[str], prefix: str) -> str:
    """Prefix every whole-word occurrence of ``names`` in ``text``."""
    if not names:
        return text
    pattern = re.compile(
        r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b"
    )
    return pattern.sub(lambda m: prefix + m.group(1), text)


_EXPORT = re.compile(r"^\s*X\((\w+)\)")


def bound_exports(exports_header: Path) -> list[str]:
    """The export list of hcs_exports.h (what the loader resolves)."""
    return [
        m.group(1)
        for line in exports_header.read_text().splitlines()
        if (m := _EXPORT.match(line.rstrip(" \\")))
    ]


_HR_DEFINE = re.compile(
    r"#define\s+(?P<name>\w+_HR)\s+HB_HR\((?P<value>0x[0-9A-Fa-f]+)u?\)"
    r"(?:\s*/\*\s*HRESULT_FROM_WIN32\((?P<win32>\w+)\)\s*\*/)?"
)


@dataclass(frozen=True)
class HresultMacro:
    name: str  # e.g. E_PROC_NOT_FOUND_HR
    value: int
    win32: str | None  # the Win32 code it is HRESULT_FROM_WIN32 of, per its comment

    @property
    def sdk_name(self) -> str:
        return self.name.removesuffix("_HR")


def hresult_macros(errors_header: Path) -> list[HresultMacro]:
    out = []
    for line in errors_header.read_text().splitlines():
        if m := _HR_DEFINE.match(line.strip()):
            out.append(HresultMacro(m.group("name"), int(m.group("value"), 16), m.group("win32")))
    return out
