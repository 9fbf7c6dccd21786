"""The service's pure parts: CommandLineToArgvW rules, framing, document
checking."""

from __future__ import annotations

import json

import pytest

from hcsaio.emulator.compute._cmdline import command_line_to_argv
from hcsaio.emulator.compute._documents import parse_compute_system, parse_process_parameters
from hcsaio.emulator.compute._hresults import HcsFailure, as_int32
from hcsaio.emulator.wire._protocol import Frame, FrameDecoder, Kind, ProtocolError, encode


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ("a b c", ["a", "b", "c"]),
        ('"C:\\Program Files\\x.exe" y', ["C:\\Program Files\\x.exe", "y"]),
        ('"unterminated program', ["unterminated program"]),
        ('p "a b" c', ["p", "a b", "c"]),
        ('p a\\\\"b c" d', ["p", "a\\b c", "d"]),  # 2n backslashes: n, and the quote toggles
        ('p a\\\\\\"b', ["p", 'a\\"b']),  # 2n+1: n and a literal quote
        ("p a\\\\b", ["p", "a\\\\b"]),  # no quote follows: backslashes are literal
        ('p ""', ["p", ""]),
        ('p """"', ["p", '"']),
        ('p "a""b"', ["p", 'a"b']),  # a doubled quote inside quotes is a literal one
        ("p\ta\t\tb   ", ["p", "a", "b"]),
    ],
)
def test_command_line_to_argv(line: str, argv: list[str]) -> None:
    assert command_line_to_argv(line) == argv


@pytest.mark.parametrize("line", ['"" x', "  a", ""])
def test_command_line_needs_a_program(line: str) -> None:
    with pytest.raises(ValueError, match="no program"):  # argv[0] ends at the first blank
        command_line_to_argv(line)


def test_frames_round_trip_in_pieces() -> None:
    frames = [
        Frame(Kind.REPLY, request=7, code=as_int32(0x8037010E), fields=["{}"], fdmask=3, arg=5),
        Frame(Kind.EVENT, object=2**64 - 1, code=0x10000, fields=["é", ""]),
    ]
    raw = b"".join(encode(f) for f in frames)
    decoder = FrameDecoder()
    got = []
    for i in range(len(raw)):  # one byte at a time
        got += decoder.feed(raw[i : i + 1])
    assert got == frames


@pytest.mark.parametrize(
    "raw",
    [
        encode(Frame(Kind.HELLO))[:4] + b"\x99\x00" + encode(Frame(Kind.HELLO))[6:],  # unknown kind
        encode(Frame(Kind.HELLO, fields=["ab"]))[:-2] + b"\xff\xfe",  # not UTF-8
        encode(Frame(Kind.HELLO, fdmask=8)),
    ],
)
def test_bad_frames(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        FrameDecoder().feed(raw)


def test_document_paths_and_defaults() -> None:
    doc = {
        "SchemaVersion": {"Major": 2, "Minor": 5},
        "Owner": "me",
        "ShouldTerminateOnLastHandleClosed": True,
        "Container": {
            "GuestOs": {"HostName": "box"},
            "Storage": {
                "Layers": [{"Id": "1", "Path": "/l1"}, {"Path": "/l2"}],
                "Path": "/scratch",
            },
            "MappedDirectories": [{"HostPath": "/h", "ContainerPath": "/c", "ReadOnly": True}],
            "Memory": {"SizeInMB": 128},
            "Processor": {"Count": 2, "Maximum": 5000, "Weight": 100},
            "Networking": {"Namespace": "x"},
        },
    }
    parsed = parse_compute_system(json.dumps(doc), "sys")
    assert parsed.owner == "me" and parsed.terminate_on_last_handle_closed
    spec = parsed.spec
    assert spec.layers == ("/l1", "/l2") and spec.scratch == "/scratch" and spec.hostname == "box"
    assert spec.memory_mb == 128 and (spec.processor_count, spec.processor_maximum) == (2, 5000)
    assert spec.mapped_directories[0].read_only
    doc["Container"]["Storage"]["Layers"][1] = {"Id": "x"}  # type: ignore[index]
    with pytest.raises(HcsFailure, match=r"Container\.Storage\.Layers\[1\]\.Path"):
        parse_compute_system(json.dumps(doc), "sys")


def test_process_parameters() -> None:
    request = parse_process_parameters(
        json.dumps(
            {
                "ApplicationName": "/bin/echo",
                "CommandLine": "echo hi",
                "Environment": {"A": "1", "PATH": "/x"},
                "EmulateConsole": True,
                "CreateStdErrPipe": True,
                "ConsoleSize": [10, 20],
            }
        )
    )
    assert request.spec.argv == ("/bin/echo", "hi")  # ApplicationName replaces argv[0]
    assert request.spec.env == {"A": "1", "PATH": "/x"}
    assert request.spec.tty and request.spec.console_size == (10, 20)
    assert not request.stderr  # merged into the console
    with pytest.raises(HcsFailure, match="Environment"):
        parse_process_parameters('{"CommandLine": "x", "Environment": {"A=B": "1"}}')
    defaults = parse_process_parameters('{"CommandArgs": ["ls"]}')
    assert defaults.spec.env["PATH"].startswith("/usr/local/sbin")
