"""argv <-> Windows command line, with CommandLineToArgvW's rules.

The split tables come from the rules Microsoft documents for parsing C command-line
arguments (learn.microsoft.com, "Parsing C command-line arguments": the backslash/quote
examples) and from shell32's own rules for the program name and consecutive quotes.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hcsaio.schema import join_windows_command_line as join
from hcsaio.schema import split_windows_command_line as split

# The argument rules (every row prefixed with a program name, which has its own rules).
ARGUMENT_EXAMPLES = [
    ('"abc" d e', ["abc", "d", "e"]),
    (r'a\\\b d"e f"g h', [r"a\\\b", "de fg", "h"]),
    (r"a\\\"b c d", [r"a\"b", "c", "d"]),
    (r'a\\\\"b c" d e', [r"a\\b c", "d", "e"]),
    (r"a\\", [r"a\\"]),  # backslashes not before a quote are literal
    (r'"a\\"', ["a\\"]),  # 2n backslashes + quote: n backslashes, quote closes
    (r'"a\""', ['a"']),  # 2n+1 backslashes + quote: literal quote
    ('""', [""]),
    ('"" ""', ["", ""]),
    ("a\tb", ["a", "b"]),  # tab separates
    ("a\nb", ["a\nb"]),  # newline does not (only space and tab do)
    ("  a   b  ", ["a", "b"]),
    ('a"b c"d', ["ab cd"]),  # quotes toggle inside an argument
    ('"a b', ["a b"]),  # unterminated quote runs to the end
    ('""""', ['"']),  # shell32: the third quote of a run is literal
    ('a"b"" c d', ['ab"', "c", "d"]),  # shell32 (the C runtime would give 'ab" c d')
]


@pytest.mark.parametrize(("tail", "expected"), ARGUMENT_EXAMPLES)
def test_split_arguments(tail: str, expected: list[str]) -> None:
    assert split("prog " + tail) == ["prog", *expected]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", []),  # Windows would return the caller's own path; there is none here
        ("prog", ["prog"]),
        ("prog   ", ["prog"]),
        (r'"C:\Program Files\app.exe" -v', [r"C:\Program Files\app.exe", "-v"]),
        (r"C:\dir\app.exe\ x", ["C:\\dir\\app.exe\\", "x"]),  # no escapes in the program
        (r'"C:\dir\" x', ["C:\\dir\\", "x"]),  # a quoted program ends at the next quote
        ('"a b"c d', ["a b", "c", "d"]),  # ... even when more text follows at once
        ('"unterminated', ["unterminated"]),
        ("prog\narg", ["prog", "arg"]),  # any whitespace ends the program name
        ('pr"og a', ['pr"og', "a"]),  # a quote inside an unquoted program is literal
    ],
)
def test_split_program_name(line: str, expected: list[str]) -> None:
    assert split(line) == expected


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["cmd.exe", "/c", "echo hi"], 'cmd.exe /c "echo hi"'),
        (["prog", ""], 'prog ""'),
        (["prog", 'say "hi"'], r'prog "say \"hi\""'),
        (["prog", "a\\"], "prog a\\"),  # no quoting, no doubling
        (["prog", "a b\\"], r'prog "a b\\"'),  # doubled before the closing quote
        (["prog", 'a\\"b'], r'prog "a\\\"b"'),
        (["prog", "C:\\dir\\file"], "prog C:\\dir\\file"),
        (["C:\\Program Files\\app.exe", "x"], '"C:\\Program Files\\app.exe" x'),
        ([""], '""'),
        (["prog", "tab\there"], 'prog "tab\there"'),
    ],
)
def test_join(argv: list[str], line: str) -> None:
    assert join(argv) == line
    assert split(line) == argv


@pytest.mark.parametrize(
    "argv",
    [[], ['pro"g', "x"], ["prog", "nul\0"], ["nul\0"]],
    ids=["empty", "quote", "nul", "nul0"],
)
def test_join_rejects_unrepresentable(argv: list[str]) -> None:
    with pytest.raises(ValueError, match=r"argv must name|double quote|NUL"):
        join(argv)


def test_join_rejects_a_string() -> None:
    with pytest.raises(TypeError):
        join("cmd.exe /c dir")


PROGRAM = st.text(
    alphabet=st.characters(blacklist_characters='"\0', blacklist_categories=["Cs"]), max_size=12
)
ARGUMENT = st.text(
    alphabet=st.sampled_from(["\\", '"', " ", "\t", "\n", "a", "b", "é", "\u4e2d", "'", "^", "%"])
    | st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]),
    max_size=12,
)


@given(program=PROGRAM, args=st.lists(ARGUMENT, max_size=6))
def test_split_inverts_join(program: str, args: list[str]) -> None:
    argv = [program, *args]
    assert split(join(argv)) == argv


@given(line=st.text(alphabet=st.sampled_from(["\\", '"', " ", "\t", "a", "b"]), max_size=20))
def test_split_then_join_is_stable(line: str) -> None:
    """Whatever a command line means, joining its argv gives a line with the same meaning."""
    argv = split(line)
    if argv and '"' not in argv[0]:
        assert split(join(argv)) == argv
