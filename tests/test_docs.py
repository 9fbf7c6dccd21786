"""The design notes the code cites are in the repository, and the citations hold.

Code cites a note by path and, in quotes right after it, section headings:
``docs/hcs-rules.md, "Handles and callbacks"``. Every cited file must exist in
``docs/`` and every cited heading in that file. Notes outside the repository
(``../shared/DESIGN.md``, ``../shared/reference/…``, section numbers of the C
API reference) must not be cited: a reader of the repository alone cannot
follow them. ``../shared/schema`` is different: it is the input data of
``tools/gen_schema.py``, not a note, and naming where the data comes from stays
allowed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Where citations are looked for: the code, and the notes themselves.
SCANNED = ("hcsaio", "_cffi_build", "tools", "docs")
SUFFIXES = frozenset({".py", ".pyi", ".c", ".h", ".md", ".cdef"})

_CITED = re.compile(r"(?<![\w/.])docs/([\w.-]+\.md)")
# After a cited path: separators (comma, parenthesis, the * or # of a comment
# continued on the next line) and a quoted heading, possibly several.
_SECTION = re.compile(r"""[\s,(*#:]*(?:and\s+)?"([A-Za-z`][^"\n]*)"\)?""")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
_HEADING_SUFFIX = re.compile(r"\s*\[§[^\]]*\]$")  # "Operations [§4.1]" is "Operations"

#: Citations of notes that live outside the repository.
_OUTSIDE = (
    re.compile(r"\.\./shared/(?!schema\b)"),
    re.compile(r"\bshared/(?:DESIGN\.md|reference\b)"),
    re.compile(r"\bDESIGN\.md\b"),
    re.compile(r"\bhcs-c-api\b"),
    re.compile(r"\bwave2-api\b"),
    re.compile(r"\breference\W{0,3}(?:§|sections?\s+\d|gotcha\b|\d+\.\d)"),
    re.compile(r"\bcomputecore\s+§"),
)
#: A section sign is a citation of the reference unless the line names the
#: in-repository note it belongs to.
_SECTION_SIGN = re.compile(r"§\s*\d")
_IN_REPO_NOTE = re.compile(r"\bdocs/[\w.-]+\.md|\bPROTOCOL\.md")

#: Files that still cite the notes outside the repository: their citations are
#: changed to docs/ once the branches that edit them have merged (each entry:
#: the docs/ anchor to cite). The test fails for a file that is fixed but still
#: listed, so the list can only shrink.
PENDING: dict[str, str] = {
    "_cffi_build/bridge/bridge.h": 'docs/bridge.md, "Tokens" (and the sections below it)',
    "_cffi_build/bridge/loader.c": 'docs/hcs-rules.md, "Version matrix"',
    "_cffi_build/hcsemu/api_ops.c": 'docs/hcs-rules.md, "Operations"',
    "_cffi_build/hcsemu/api_processes.c": 'docs/hcs-rules.md, "computecore exports"',
    "_cffi_build/hcsemu/api_service.c": 'docs/hcs-rules.md, "computecore exports"',
    "_cffi_build/hcsemu/api_systems.c": 'docs/hcs-rules.md, "computecore exports"',
    "_cffi_build/hcsemu/calls.c": 'docs/hcs-rules.md, "Operations"',
    "hcsaio/_core/_handle.py": 'docs/hcs-rules.md, "Handles and callbacks"',
    "hcsaio/_errors_table.py": 'docs/hcs-rules.md, "HRESULT families"',
    "hcsaio/_native/process.py": 'docs/hcs-rules.md, "computecore exports"',
    "hcsaio/_native/system.py": 'docs/hcs-rules.md, "computecore exports"',
    "hcsaio/compute/_process.py": 'docs/hcs-rules.md, "Gotchas"',
    "hcsaio/emulator/compute/_hresults.py": 'docs/hcs-rules.md, "HRESULT families", "ResultError"',
    "hcsaio/emulator/compute/_processes.py": 'docs/hcs-rules.md, "Exit documents"',
    "hcsaio/emulator/compute/_schema.py": 'docs/hcs-rules.md, "ResultError"',
    "hcsaio/emulator/compute/_systems.py": 'docs/hcs-rules.md, "Exit documents"',
    "tools/abi_check/emit.py": 'docs/hcs-rules.md, "Types"',
}


def _scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
                files.append(path)
    return files


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _headings(note: Path) -> set[str]:
    return {_HEADING_SUFFIX.sub("", h) for h in _HEADING.findall(note.read_text("utf-8"))}


def _citations(text: str) -> list[tuple[str, list[str], int]]:
    """(cited file, cited headings, line number) for every docs/ citation."""
    found = []
    for match in _CITED.finditer(text):
        sections, pos = [], match.end()
        while (section := _SECTION.match(text, pos)) is not None:
            sections.append(section.group(1))
            pos = section.end()
        found.append((match.group(1), sections, text.count("\n", 0, match.start()) + 1))
    return found


def _outside_citations(text: str, *, markdown: bool = False) -> list[int]:
    """Line numbers citing notes outside the repository. In a markdown note a
    section sign refers to the note's own sections."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if any(p.search(line) for p in _OUTSIDE) or (
            not markdown and _SECTION_SIGN.search(line) and not _IN_REPO_NOTE.search(line)
        ):
            lines.append(number)
    return lines


def test_every_cited_note_and_heading_exists() -> None:
    broken = []
    cited = 0
    for path in _scanned_files():
        for name, sections, line in _citations(path.read_text("utf-8", "replace")):
            cited += 1
            note = DOCS / name
            if not note.is_file():
                broken.append(f"{_rel(path)}:{line}: docs/{name} does not exist")
                continue
            missing = [s for s in sections if s not in _headings(note)]
            if missing:
                broken.append(f"{_rel(path)}:{line}: docs/{name} has no heading {missing}")
    assert not broken, "\n".join(broken)
    assert cited, "no docs/ citation found: the scan itself is broken"


def test_no_code_cites_notes_outside_the_repository() -> None:
    offenders: dict[str, list[int]] = {}
    for path in _scanned_files():
        if path.parent == DOCS:
            continue  # the index names the outside reference on purpose, for maintainers
        text = path.read_text("utf-8", "replace")
        lines = _outside_citations(text, markdown=path.suffix == ".md")
        if lines:
            offenders[_rel(path)] = lines
    new = {f: lines for f, lines in offenders.items() if f not in PENDING}
    assert not new, f"cite docs/ instead of notes outside the repository: {new}"
    fixed = sorted(set(PENDING) - set(offenders))
    assert not fixed, f"no longer cite outside notes, remove them from PENDING: {fixed}"


def test_the_pending_anchors_exist() -> None:
    # What PENDING tells the next editor to cite must itself be a valid citation.
    for anchor in PENDING.values():
        ((name, sections, _),) = _citations(anchor)
        assert set(sections) <= _headings(DOCS / name), anchor


def test_the_index_lists_every_note() -> None:
    index = (DOCS / "README.md").read_text("utf-8")
    for note in sorted(DOCS.glob("*.md")):
        if note.name != "README.md":
            assert f"]({note.name})" in index, f"docs/README.md does not link {note.name}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'see docs/hcs-rules.md, "Handles and callbacks".',
            [("hcs-rules.md", ["Handles and callbacks"])],
        ),
        (
            ' * Facts from docs/hcs-rules.md ("ABI basics", "Types",\n * "computecore exports")',
            [("hcs-rules.md", ["ABI basics", "Types", "computecore exports"])],
        ),
        ('msg = "see docs/bridge.md", "unrelated"', [("bridge.md", [])]),
        ("hcsaio/docs/x.md is not ours", []),
    ],
)
def test_citation_parsing(text: str, expected: list[tuple[str, list[str]]]) -> None:
    assert [(name, sections) for name, sections, _ in _citations(text)] == expected


@pytest.mark.parametrize(
    ("line", "outside"),
    [
        ("(see ../shared/DESIGN.md, 'The callback bridge')", True),
        ('"""SystemExitStatus (reference §4.4)."""', True),
        ("computecore compute-system calls (reference 3.2).", True),
        ("for (reference section 6).", True),
        ('"""Compute system calls (computecore §3.2)."""', True),
        ("(§6): HCS_E_* (0x8037xxxx, v2 API)", True),
        ("# Source: ../shared/schema/hns.json (hcsshim 7c9ff7f48138).", False),
        ("see §3 of PROTOCOL.md", False),
        ("the registry holds one reference count per handle", False),
        ('docs/hcs-rules.md, "Operations"', False),
    ],
)
def test_outside_citation_patterns(line: str, outside: bool) -> None:
    assert bool(_outside_citations(line)) is outside
