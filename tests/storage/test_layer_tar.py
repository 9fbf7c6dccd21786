"""Layer tar import/export (hcsaio.ociwclayer): round trip entry by entry,
whiteouts, and the refusals that keep writes inside the layer."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from hcsaio import ociwclayer
from hcsaio.storage import TruncatedTarError, UnsafeEntryError

ROOT = os.geteuid() == 0
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _add(
    tf: tarfile.TarFile, name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **fields: Any
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = fields.pop("mode", 0o644)
    info.mtime = fields.pop("mtime", 1_700_000_000)
    info.uid = fields.pop("uid", 0)
    info.gid = fields.pop("gid", 0)
    for k, v in fields.items():
        setattr(info, k, v)
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(info, io.BytesIO(data) if data else None)


def _sample() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        _add(tf, "bin", tarfile.DIRTYPE, mode=0o755)
        _add(tf, "bin/a", data=b"hello", mode=0o4755, uid=12, gid=34)
        _add(tf, "bin/b", tarfile.LNKTYPE, linkname="bin/a")
        _add(tf, "bin/c", tarfile.SYMTYPE, linkname="/etc/passwd", mode=0o777)
        _add(tf, "bin/x", data=b"xa", pax_headers={"SCHILY.xattr.user.k": "v1"})
        _add(tf, "etc", tarfile.DIRTYPE, mode=0o700, mtime=1_600_000_000)
        _add(tf, "etc/.wh..wh..opq")
        _add(tf, "etc/.wh.gone", mode=0o600)
    return buf.getvalue()


def _entries(data: bytes) -> dict[str, tuple[Any, ...]]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf:
            name = m.name.rstrip("/")
            body = tf.extractfile(m).read() if m.isreg() else b""  # type: ignore[union-attr]
            xattrs = {k: v for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}
            owner = (m.uid, m.gid) if ROOT else None
            if m.islnk():  # a hard link's metadata is its target's (one inode)
                out[name] = (m.type, m.linkname)
                continue
            out[name] = (m.type, m.mode, owner, int(m.mtime), m.linkname, body, xattrs)
    return out


async def test_round_trip_keeps_every_entry(tmp_path: Path) -> None:
    src = _sample()
    layer = tmp_path / "layer"
    written = await ociwclayer.import_layer_from_tar(io.BytesIO(src), layer, [], timeout=30)
    assert written == 7
    out = tmp_path / "out.tar"
    await ociwclayer.export_layer_to_tar(out, layer, [], timeout=30)
    assert _entries(out.read_bytes()) == _entries(src)
    assert (layer / "Files" / "bin" / "a").read_bytes() == b"hello"
    assert (layer / "layerchain.json").read_text() == "[]"


async def test_gzip_input_is_detected(tmp_path: Path) -> None:
    import gzip

    layer = tmp_path / "layer"
    await ociwclayer.import_layer_from_tar(io.BytesIO(gzip.compress(_sample())), layer, timeout=30)
    assert (layer / "Files" / "bin" / "x").read_bytes() == b"xa"


@pytest.mark.parametrize(
    ("name", "kind", "link"),
    [
        ("../evil", tarfile.REGTYPE, ""),
        ("a/../../evil", tarfile.REGTYPE, ""),
        ("/abs/evil", tarfile.REGTYPE, ""),
        ("hl", tarfile.LNKTYPE, "../../etc/passwd"),
    ],
)
async def test_traversal_is_refused_and_leaves_nothing(
    tmp_path: Path, name: str, kind: bytes, link: str
) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        _add(tf, "ok", data=b"1")
        _add(tf, name, kind, linkname=link)
    layer = tmp_path / "in" / "layer"
    layer.parent.mkdir()
    with pytest.raises(UnsafeEntryError) as err:
        await ociwclayer.import_layer_from_tar(io.BytesIO(buf.getvalue()), layer, timeout=30)
    assert err.value.entry is not None
    assert os.listdir(layer.parent) == []
    assert not (tmp_path / "evil").exists()


async def test_entry_through_an_outside_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        _add(tf, "link", tarfile.SYMTYPE, linkname=str(outside))
        _add(tf, "link/planted", data=b"x")
    layer = tmp_path / "in" / "layer"
    layer.parent.mkdir()
    with pytest.raises(UnsafeEntryError, match="link/planted"):
        await ociwclayer.import_layer_from_tar(io.BytesIO(buf.getvalue()), layer, timeout=30)
    assert os.listdir(outside) == []
    assert os.listdir(layer.parent) == []


@pytest.mark.parametrize("cut", [700, 1024 + 100, None])
async def test_truncated_tar_is_refused(tmp_path: Path, cut: int | None) -> None:
    data = _sample()
    if cut is None:  # right after the last entry: no end-of-archive blocks
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            cut = tf.getmembers()[-1].offset_data
    layer = tmp_path / "in" / "layer"
    layer.parent.mkdir()
    with pytest.raises(TruncatedTarError):
        await ociwclayer.import_layer_from_tar(io.BytesIO(data[:cut]), layer, timeout=30)
    assert os.listdir(layer.parent) == []


async def test_existing_layer_and_missing_parent_fail_first(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(ValueError, match="already exists"):
        await ociwclayer.import_layer_from_tar(io.BytesIO(_sample()), tmp_path / "taken")
    with pytest.raises(ValueError, match="not a layer"):
        await ociwclayer.import_layer_from_tar(
            io.BytesIO(_sample()), tmp_path / "new", [str(tmp_path / "nope")]
        )
    assert sorted(os.listdir(tmp_path)) == ["taken"]


async def test_zstd_input_is_read_or_clearly_refused(tmp_path: Path) -> None:
    # zstd magic followed by a frame; without the optional package, the error
    # must name it (the 'storage' extra) instead of calling the tar corrupt.
    try:
        import zstandard
    except ModuleNotFoundError:
        zstd_frame = b"\x28\xb5\x2f\xfd" + bytes(16)
        with pytest.raises(ModuleNotFoundError, match="zstandard"):
            await ociwclayer.import_layer_from_tar(
                io.BytesIO(zstd_frame), tmp_path / "layer", timeout=30
            )
        assert os.listdir(tmp_path) == []
        return
    packed = zstandard.ZstdCompressor().compress(_sample())
    await ociwclayer.import_layer_from_tar(io.BytesIO(packed), tmp_path / "layer", timeout=30)
    assert (tmp_path / "layer" / "Files" / "bin" / "a").read_bytes() == b"hello"


async def test_ten_thousand_entries(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for d in range(100):
            _add(tf, f"d{d}", tarfile.DIRTYPE, mode=0o755)
            for f in range(99):
                _add(tf, f"d{d}/f{f}", data=b"x")
    layer = tmp_path / "layer"
    written = await ociwclayer.import_layer_from_tar(io.BytesIO(buf.getvalue()), layer, timeout=120)
    assert written == 9900
    out = io.BytesIO()
    await ociwclayer.export_layer_to_tar(out, layer, timeout=120)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert len(tf.getmembers()) == 10_000


@pytest.mark.privileged
@pytest.mark.skipif(not ROOT, reason="overlayfs whiteouts are written and mounted as root only")
async def test_three_layer_chain_merges_under_overlayfs(tmp_path: Path) -> None:
    import subprocess

    def tar(*entries: tuple[str, bytes, bytes]) -> io.BytesIO:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for name, kind, data in entries:
                _add(tf, name, kind, data=data, mode=0o755 if kind == tarfile.DIRTYPE else 0o644)
        buf.seek(0)
        return buf

    d, r = tarfile.DIRTYPE, tarfile.REGTYPE
    base, mid, top = tmp_path / "base", tmp_path / "mid", tmp_path / "top"
    await ociwclayer.import_layer_from_tar(
        tar(
            ("etc", d, b""),
            ("etc/keep", r, b"k"),
            ("etc/drop", r, b"d"),
            ("opt", d, b""),
            ("opt/old", r, b"o"),
        ),
        base,
        timeout=30,
    )
    await ociwclayer.import_layer_from_tar(
        tar(
            ("etc", d, b""),
            ("etc/.wh.drop", r, b""),
            ("opt", d, b""),
            ("opt/.wh..wh..opq", r, b""),
            ("opt/new", r, b"n"),
        ),
        mid,
        [str(base)],
        timeout=30,
    )
    await ociwclayer.import_layer_from_tar(
        tar(("etc", d, b""), ("etc/drop", r, b"again")), top, [str(mid), str(base)], timeout=30
    )
    merged = tmp_path / "merged"
    merged.mkdir()
    lower = ":".join(str(p / "Files") for p in (top, mid, base))
    subprocess.run(  # noqa: ASYNC221 (a test: one quick mount)
        ["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower}", str(merged)],
        check=True,
        timeout=30,
    )
    try:
        assert sorted(os.listdir(merged / "etc")) == ["drop", "keep"]
        assert (merged / "etc" / "drop").read_bytes() == b"again"
        assert sorted(os.listdir(merged / "opt")) == ["new"]
    finally:
        subprocess.run(["umount", str(merged)], check=True, timeout=30)  # noqa: ASYNC221
