"""The Python mirror of the shim protocol matches shim.h, and encodes what
the shim expects."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from hcsaio.emulator.runtimes import _shim_protocol as proto
from hcsaio.emulator.runtimes._runtime_ns import container_path, exit_code

HEADER = Path(__file__).resolve().parents[2] / "_cffi_build" / "shim" / "shim.h"


def header_constants() -> dict[str, int]:
    text = HEADER.read_text()
    found = {}
    for kind, name, value in re.findall(
        r"#define SHIM_(MSG|SPAWN|STAGE)_(\w+)\s+(0x[0-9a-fA-F]+|\d+)u?", text
    ):
        found[f"{kind}_{name}"] = int(value, 0)
    max_msg = re.search(r"#define SHIM_MAX_MSG \(1u << (\d+)\)", text)
    assert max_msg is not None
    found["MAX_MSG"] = 1 << int(max_msg.group(1))
    return found


def test_constants_match_the_c_header() -> None:
    constants = header_constants()
    assert len(constants) > 20
    for name, value in constants.items():
        assert getattr(proto, name) == value, name


def test_struct_sizes_match_the_c_layout() -> None:
    assert proto.HEADER.size == 8
    assert proto.SPAWN_REQ.size == 16
    assert proto.SPAWNED.size == 16


def test_encode_spawn() -> None:
    msg = proto.encode_spawn(
        7, argv=("ls", "-l"), env={"A": "1"}, cwd="/tmp", user="nobody",
        flags=proto.SPAWN_STDOUT, console_size=(24, 80),
    )  # fmt: skip
    kind, seq = proto.HEADER.unpack_from(msg)
    flags, rows, cols, argc, envc = proto.SPAWN_REQ.unpack_from(msg, proto.HEADER.size)
    assert (kind, seq) == (proto.MSG_SPAWN, 7)
    assert flags == proto.SPAWN_STDOUT | proto.SPAWN_WINSIZE
    assert (rows, cols, argc, envc) == (24, 80, 2, 1)
    strings = msg[proto.HEADER.size + proto.SPAWN_REQ.size :].split(b"\0")
    assert strings == [b"nobody", b"/tmp", b"ls", b"-l", b"A=1", b""]


@pytest.mark.parametrize(
    "kw",
    [
        {"argv": ()},
        {"argv": ("a\0b",)},
        {"env": {"": "x"}},
        {"env": {"A=B": "x"}},
        {"cwd": "/a\0"},
        {"console_size": (70000, 1)},
    ],
)
def test_encode_spawn_rejects_bad_specs(kw: dict[str, object]) -> None:
    args: dict[str, object] = {
        "argv": ("true",), "env": {}, "cwd": None, "user": None, "flags": 0, "console_size": None,
    }  # fmt: skip
    args.update(kw)
    with pytest.raises(ValueError, match=r"empty|NUL|environment|console"):
        proto.encode_spawn(1, **args)  # type: ignore[arg-type]


def test_decode() -> None:
    h = proto.HEADER.pack
    assert proto.decode(h(proto.MSG_READY, 0) + struct.pack("=i", 42)) == proto.Ready(42)
    assert proto.decode(h(proto.MSG_SPAWNED, 3) + proto.SPAWNED.pack(0, 0, 2, 99)) == proto.Spawned(
        3, 0, 0, 2, 99
    )
    assert proto.decode(h(proto.MSG_EXITED, 0) + proto.EXITED.pack(99, 256)) == proto.Exited(
        99, 256
    )
    assert proto.decode(h(proto.MSG_IDLE, 5)) == proto.Idle(5)
    assert proto.decode(h(proto.MSG_DEAD, 0) + proto.DEAD.pack(9)) == proto.Dead(9)
    err = proto.decode(h(proto.MSG_SETUP_ERROR, 0) + struct.pack("=i", 2) + b"no such layer")
    assert err == proto.SetupError(2, "no such layer")
    assert proto.decode(h(proto.MSG_PTY, 4) + struct.pack("=i", 0)) == proto.Pty(4, 0)
    assert proto.encode_open_pty(4) == h(proto.MSG_OPEN_PTY, 4)
    for bad in (b"", h(999, 0), h(proto.MSG_SPAWNED, 1) + b"\0", h(proto.MSG_PTY, 1)):
        with pytest.raises(proto.ProtocolError):
            proto.decode(bad)


def test_exit_codes() -> None:
    assert exit_code(0) == 0
    assert exit_code(3 << 8) == 3
    assert exit_code(9) == 137  # killed by SIGKILL
    assert exit_code(15 | 0x80) == 143  # SIGTERM with a core dump flag


def test_container_paths() -> None:
    assert container_path("/data") == "/data"
    assert container_path("C:\\data\\in") == "/data/in"
    assert container_path("c:/x") == "/x"
    assert container_path("C:\\") == "/"
    with pytest.raises(ValueError, match="absolute"):
        container_path("relative/path")
