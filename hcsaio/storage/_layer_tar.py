"""Layer folders to and from their OCI tar form (hcsshim's pkg/ociwclayer).

``import_layer_from_tar`` streams a (maybe gzip- or zstd-compressed) layer
tar into a new layer folder (layout in ``_layout``); ``export_layer_to_tar``
writes the folder back as a PAX tar. Both run in one storage worker thread
(``_worker``) and never hold more than one chunk of file data in memory.
"""

from __future__ import annotations

import io
import os
import stat
import sys
import tarfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, BinaryIO

from anyio.abc import ByteReceiveStream, ByteSendStream

from . import _layout as L
from ._errors import LayerTarError, TruncatedTarError, UnsafeEntryError
from ._worker import AsyncStreamReader, AsyncStreamWriter, Stop, run_blocking

# The Windows side (BackupRead/BackupWrite through wclayer) is not written yet;
# this module writes POSIX layer folders. The assert also tells mypy
# --platform win32 not to check the POSIX calls below.
assert sys.platform != "win32", "layer tar import/export is POSIX-only for now (issue 15)"

__all__ = ["export_layer_to_tar", "import_layer_from_tar"]

CHUNK = 1 << 20
WH = ".wh."
OPAQUE = ".wh..wh..opq"
XATTR = "SCHILY.xattr."
WINDOWS_PAX = ("MSWINDOWS.", "LIBARCHIVE.creationtime")

Source = str | os.PathLike[str] | BinaryIO | ByteReceiveStream
Dest = str | os.PathLike[str] | BinaryIO | ByteSendStream


# --------------------------------------------------------------------------- helpers


def _clean(name: str) -> str:
    """The layer-relative form of a tar name; refuses what could leave the layer."""
    if "\0" in name:
        raise UnsafeEntryError("NUL in the name", name)
    if name.startswith("/"):
        raise UnsafeEntryError("absolute path", name)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeEntryError("'..' in the path", name)
    return "/".join(parts)


def _mtime_ns(info: tarfile.TarInfo) -> int:
    text = info.pax_headers.get("mtime")
    return int(Decimal(text) * 10**9) if text else int(info.mtime) * 10**9


def _mtime_text(info: tarfile.TarInfo) -> str:
    return info.pax_headers.get("mtime") or str(int(info.mtime))


def _decompressed(raw: IO[bytes]) -> IO[bytes]:
    buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, CHUNK)
    magic = buffered.peek(4)[:4]
    if magic[:2] == b"\x1f\x8b":
        import gzip

        unzipped: IO[bytes] = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]
        return unzipped
    if magic == b"\x28\xb5\x2f\xfd":
        try:
            import zstandard  # type: ignore[import-not-found, unused-ignore]
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                "this layer is zstd-compressed: install the 'zstandard' package "
                "(pip install 'hcsaio[storage]')",
                name="zstandard",
            ) from None
        reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(
            buffered, read_across_frames=True
        )
        return reader
    plain: IO[bytes] = buffered
    return plain


def _open_source(source: Source, stop: Stop) -> tuple[IO[bytes], bool]:
    """A blocking readable for the worker, and whether we must close it."""
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True
    if isinstance(source, ByteReceiveStream):
        return io.BufferedReader(AsyncStreamReader(source, stop), CHUNK), True
    if hasattr(source, "read"):
        return source, False
    raise TypeError(f"source must be a path, a binary file or a byte stream, not {source!r}")


# --------------------------------------------------------------------------- import


class _Importer:
    def __init__(self, stage: Path, stop: Stop, allow_devices: bool) -> None:
        self.stage = stage
        self.stop = stop
        self.root = L.is_root()
        self.allow_devices = allow_devices
        self.meta = L.LayerMeta()
        self.base: Path | None = None  # where names land: Files/ or the layer
        self.known_dirs: set[str] = {""}
        self.dirs: list[tuple[str, int, int]] = []  # (rel, mode, mtime_ns)

    def _start(self, name: str, info: tarfile.TarInfo) -> None:
        top = name.split("/", 1)[0]
        windows = top in L.WINDOWS_ROOTS or any(k.startswith(WINDOWS_PAX) for k in info.pax_headers)
        self.meta.type = "windows" if windows else "linux"
        self.base = self.stage if windows else self.stage / L.FILES
        (self.stage / L.FILES).mkdir()

    def _parent(self, rel: str, entry: str) -> None:
        """Make sure ``rel``'s parent is a real folder of this layer."""
        parent = rel.rpartition("/")[0]
        if parent in self.known_dirs:
            return
        assert self.base is not None
        walked = ""
        for part in parent.split("/"):
            walked = f"{walked}/{part}" if walked else part
            if walked in self.known_dirs:
                continue
            full = self.base / walked
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                os.mkdir(full, 0o755)
                self.known_dirs.add(walked)
                continue
            if stat.S_ISLNK(st.st_mode):
                raise UnsafeEntryError(f"goes through the symlink {walked!r}", entry)
            raise LayerTarError(f"{walked!r} is not a directory", entry)

    def _clear(self, full: Path, rel: str, entry: str) -> None:
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            raise LayerTarError("replaces a directory with a non-directory", entry)
        os.unlink(full)

    def _owner(self, full: Path | int, info: tarfile.TarInfo) -> None:
        if self.root:
            if isinstance(full, int):
                os.fchown(full, info.uid, info.gid)
            else:
                os.chown(full, info.uid, info.gid, follow_symlinks=False)

    def _xattrs(self, target: Path | int, info: tarfile.TarInfo, entry: str) -> None:
        for key, value in info.pax_headers.items():
            if key.startswith(XATTR):
                try:
                    os.setxattr(
                        target,
                        key[len(XATTR) :],
                        value.encode("utf-8", "surrogateescape"),
                        follow_symlinks=isinstance(target, int),  # an fd: nothing to follow
                    )
                except OSError as exc:
                    raise LayerTarError(
                        f"cannot set xattr {key[len(XATTR) :]}: {exc}", entry
                    ) from exc

    def add(self, tf: tarfile.TarFile, info: tarfile.TarInfo) -> None:
        self.stop.check()
        entry = info.name
        rel = _clean(entry)
        if self.base is None:
            self._start(rel, info)
        assert self.base is not None
        if not rel:  # the layer root itself ("./")
            return
        if self.meta.type == "windows":
            if rel.split("/", 1)[0] not in L.WINDOWS_ROOTS:
                raise LayerTarError(
                    "a Windows layer entry outside Files/, Hives/, UtilityVM/", entry
                )
            pax = {k: v for k, v in info.pax_headers.items() if k.startswith(WINDOWS_PAX)}
            if pax:
                self.meta.windows[rel] = pax
        base_name = rel.rpartition("/")[2]
        if base_name.startswith(WH):
            self._whiteout(rel, base_name, info)
            return
        self._parent(rel, entry)
        full = self.base / rel
        if info.isdir():
            try:
                st = os.lstat(full)
                if not stat.S_ISDIR(st.st_mode):
                    os.unlink(full)
                    raise FileNotFoundError
            except FileNotFoundError:
                os.mkdir(full, 0o700)
            self.known_dirs.add(rel)
            self._owner(full, info)
            self._xattrs(full, info, entry)
            self.dirs.append((rel, info.mode, _mtime_ns(info)))
            return
        if rel in self.known_dirs:
            raise LayerTarError("replaces a directory with a non-directory", entry)
        self._clear(full, rel, entry)
        ns = _mtime_ns(info)
        if info.isreg():
            self._file(tf, info, full, entry, ns)
        elif info.issym():
            os.symlink(info.linkname, full)
            self._owner(full, info)
            self._xattrs(full, info, entry)
            os.utime(full, ns=(ns, ns), follow_symlinks=False)
        elif info.islnk():
            target = _clean(info.linkname)
            self._parent(target, entry)
            src = self.base / target
            if target in self.known_dirs or not os.path.lexists(src):
                raise UnsafeEntryError(
                    f"hard link to {info.linkname!r}, not a file of this layer", entry
                )
            os.link(src, full, follow_symlinks=False)
        elif info.isfifo() or info.ischr() or info.isblk():
            if not info.isfifo() and not self.allow_devices:
                raise UnsafeEntryError(
                    "device node (allowed only as root, allow_devices=True)", entry
                )
            kind = stat.S_IFIFO if info.isfifo() else stat.S_IFCHR if info.ischr() else stat.S_IFBLK
            os.mknod(full, kind | 0o600, os.makedev(info.devmajor, info.devminor))
            self._owner(full, info)
            os.chmod(full, info.mode)
            os.utime(full, ns=(ns, ns))
        else:
            raise LayerTarError(f"unsupported tar entry type {info.type!r}", entry)

    def _file(
        self, tf: tarfile.TarFile, info: tarfile.TarInfo, full: Path, entry: str, ns: int
    ) -> None:
        fd = os.open(
            full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
        try:
            data = tf.extractfile(info)
            assert data is not None
            left = info.size
            while left:
                self.stop.check()
                chunk = data.read(min(CHUNK, left))
                if not chunk:
                    raise TruncatedTarError(f"ends {left} bytes into the file's data", entry)
                os.write(fd, chunk)
                left -= len(chunk)
            self.meta.size += info.size
            self._owner(fd, info)
            os.chmod(fd, info.mode)
            self._xattrs(fd, info, entry)
            os.utime(fd, ns=(ns, ns))
        finally:
            os.close(fd)

    def _whiteout(self, rel: str, base_name: str, info: tarfile.TarInfo) -> None:
        assert self.base is not None
        parent = rel.rpartition("/")[0]
        record = L.Deletion(
            path="", mode=info.mode, uid=info.uid, gid=info.gid, mtime=_mtime_text(info)
        )
        linux = self.meta.type == "linux"
        if base_name == OPAQUE:
            record.path = parent
            self.meta.opaque.append(record)
            if linux and parent:
                self._parent(rel, info.name)
                if self.root:
                    os.setxattr(self.base / parent, "trusted.overlay.opaque", b"y")
            return
        if base_name.startswith(WH + WH):
            return  # aufs bookkeeping (.wh..wh.plnk, ...), meaningless here
        target = f"{parent}/{base_name[len(WH) :]}" if parent else base_name[len(WH) :]
        record.path = target
        self.meta.whiteouts.append(record)
        if linux and self.root:
            self._parent(rel, info.name)
            full = self.base / target
            if not os.path.lexists(full):
                os.mknod(full, stat.S_IFCHR | 0o600, os.makedev(0, 0))

    def finish(self) -> None:
        assert self.base is not None
        # Folders last, children first: writing into one changes its mtime,
        # and a read-only one would refuse the writes (without root).
        for rel, mode, ns in sorted(self.dirs, key=lambda d: d[0].count("/"), reverse=True):
            full = self.base / rel
            os.chmod(full, mode)
            os.utime(full, ns=(ns, ns), follow_symlinks=False)


class _EndAware(tarfile.TarInfo):
    """Tells a proper end of archive (a zero block) from a stream cut short,
    which tarfile's stream mode takes silently for the end."""

    saw_end = False

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Any:
        if len(buf) == tarfile.BLOCKSIZE and buf.count(0) == tarfile.BLOCKSIZE:
            cls.saw_end = True
        return super().frombuf(buf, encoding, errors)


def import_sync(
    source: Source,
    path: Path,
    parents: list[str],
    stop: Stop,
    *,
    allow_devices: bool,
    check: Callable[[IO[bytes]], None] | None = None,
) -> int:
    """The worker's side of import_layer_from_tar. ``check`` (the image
    store's digest check) gets the decompressed stream after the tar's end
    and may raise to refuse the layer."""
    L.check_new_layer(path)
    stage = L.staging_dir(path)
    try:
        raw, close = _open_source(source, stop)
        try:
            stream = _decompressed(raw)
            end: type[_EndAware] = type("_End", (_EndAware,), {"saw_end": False})
            importer = _Importer(stage, stop, allow_devices)
            try:
                with tarfile.open(fileobj=stream, mode="r|", tarinfo=end, bufsize=CHUNK) as tf:
                    for info in tf:
                        importer.add(tf, info)
            except (tarfile.ReadError, EOFError) as exc:
                if stop.is_set:
                    stop.check()
                raise TruncatedTarError(f"the layer tar is cut short or corrupt: {exc}") from exc
            if not end.saw_end:
                raise TruncatedTarError("the layer tar ends without its end-of-archive blocks")
            if importer.base is None:
                importer._start("", tarfile.TarInfo())
            if check is not None:
                check(stream)
        finally:
            if close:
                raw.close()
        importer.finish()
        L.write_meta(stage, importer.meta, parents)
        os.rename(stage, path)
        return importer.meta.size
    except BaseException:
        L.remove_tree(stage)
        raise


async def import_layer_from_tar(
    source: Source,
    path: str | os.PathLike[str],
    parent_layer_paths: list[str] | tuple[str, ...] = (),
    *,
    allow_devices: bool | None = None,
    timeout: float | None = None,
) -> int:
    """Import a layer tar into the new layer folder ``path``; returns the bytes
    of file data written. ``parent_layer_paths`` (topmost first) must be layer
    folders; they are recorded in ``layerchain.json``. Device nodes are
    accepted only with ``allow_devices`` (default: when root). Nothing is left
    behind on failure, cancellation or timeout."""
    target = Path(os.path.abspath(path))  # noqa: ASYNC240 (string work and one getcwd)
    parents = L.check_parents(parent_layer_paths)
    L.check_new_layer(target)
    devices = L.is_root() if allow_devices is None else allow_devices
    return await run_blocking(
        lambda stop: import_sync(source, target, parents, stop, allow_devices=devices),
        timeout=timeout,
        what=f"import of layer {str(target)!r}",
    )


# --------------------------------------------------------------------------- export


def _mtime_fields(ns: int) -> tuple[int, str | None]:
    sec, frac = divmod(ns, 10**9)
    return sec, (f"{sec}.{frac:09d}".rstrip("0") if frac else None)


class _Exporter:
    def __init__(self, layer: Path, tf: tarfile.TarFile, stop: Stop) -> None:
        self.layer = layer
        self.tf = tf
        self.stop = stop
        self.meta = L.read_meta(layer)
        self.windows = self.meta.type == "windows"
        self.base = layer if self.windows else layer / L.FILES
        self.deleted = {d.path for d in self.meta.whiteouts}
        self.by_parent: dict[str, list[tuple[L.Deletion, str]]] = {}
        for d in self.meta.whiteouts:
            parent, _, leaf = d.path.rpartition("/")
            self.by_parent.setdefault(parent, []).append((d, WH + leaf))
        for d in self.meta.opaque:
            self.by_parent.setdefault(d.path, []).insert(0, (d, OPAQUE))
        self.links: dict[tuple[int, int], str] = {}

    def _deletions(self, parent: str) -> None:
        for d, leaf in self.by_parent.pop(parent, []):
            info = tarfile.TarInfo(f"{parent}/{leaf}" if parent else leaf)
            info.mode, info.uid, info.gid = d.mode, d.uid, d.gid
            sec = Decimal(d.mtime)
            info.mtime = int(sec)
            if sec != int(sec):
                info.pax_headers = {"mtime": d.mtime}
            self.tf.addfile(info)

    def _info(self, rel: str, full: Path, st: os.stat_result) -> tarfile.TarInfo:
        info = tarfile.TarInfo(rel)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.mtime, text = _mtime_fields(st.st_mtime_ns)
        pax: dict[str, str] = {"mtime": text} if text else {}
        for name in os.listxattr(full, follow_symlinks=False):
            if name.startswith("trusted.overlay."):
                continue  # our own whiteout marks, carried by the record
            value = os.getxattr(full, name, follow_symlinks=False)
            pax[XATTR + name] = value.decode("utf-8", "surrogateescape")
        pax.update(self.meta.windows.get(rel, {}))
        info.pax_headers = pax
        return info

    def entry(self, rel: str) -> None:
        self.stop.check()
        full = self.base / rel
        st = os.lstat(full)
        mode = st.st_mode
        if stat.S_ISCHR(mode) and st.st_rdev == 0 and rel in self.deleted:
            return  # an overlayfs whiteout: exported from the record
        info = self._info(rel, full, st)
        if stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
            self.tf.addfile(info)
            self._deletions(rel)
            with os.scandir(full) as it:
                names = sorted(e.name for e in it)
            for name in names:
                self.entry(f"{rel}/{name}")
        elif stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in self.links:
                info.type, info.linkname = tarfile.LNKTYPE, self.links[key]
                self.tf.addfile(info)
                return
            self.links[key] = rel
            info.size = st.st_size
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb", buffering=CHUNK) as data:
                self.tf.addfile(info, data)
        elif stat.S_ISLNK(mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(full)
            self.tf.addfile(info)
        elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = (
                tarfile.FIFOTYPE
                if stat.S_ISFIFO(mode)
                else tarfile.CHRTYPE
                if stat.S_ISCHR(mode)
                else tarfile.BLKTYPE
            )
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tf.addfile(info)
        else:
            raise LayerTarError("cannot export this kind of file", str(full))

    def run(self) -> None:
        if self.windows:
            roots = sorted(n for n in os.listdir(self.layer) if n in L.WINDOWS_ROOTS)
            for name in roots:
                self.entry(name)
        else:
            self._deletions("")
            with os.scandir(self.base) as it:
                names = sorted(e.name for e in it)
            for name in names:
                self.entry(name)
        for parent in list(self.by_parent):  # deletions under folders not on disk
            self._deletions(parent)


def export_sync(dest: Dest, layer: Path, stop: Stop) -> None:
    if not L.is_layer(layer):
        raise ValueError(f"{str(layer)!r} is not a layer folder (no {L.FILES}/)")
    tmp: Path | None = None
    out: Any
    if isinstance(dest, str | os.PathLike):
        final = Path(dest)
        tmp = final.with_name(f".{final.name}.partial")
        out = open(tmp, "wb", buffering=CHUNK)  # noqa: SIM115
    elif isinstance(dest, ByteSendStream):
        out = io.BufferedWriter(AsyncStreamWriter(dest, stop), CHUNK)
    elif hasattr(dest, "write"):
        out = dest
    else:
        raise TypeError(f"dest must be a path, a binary file or a byte stream, not {dest!r}")
    try:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tf:
            _Exporter(layer, tf, stop).run()
        if out is not dest:
            out.close()
        if tmp is not None:
            os.rename(tmp, Path(dest))  # type: ignore[arg-type]
    except BaseException:
        if tmp is not None:
            out.close()
            tmp.unlink(missing_ok=True)
        raise


async def export_layer_to_tar(
    dest: Dest,
    path: str | os.PathLike[str],
    parent_layer_paths: list[str] | tuple[str, ...] = (),
    *,
    timeout: float | None = None,
) -> None:
    """Write layer folder ``path`` as a PAX layer tar to ``dest``: its files,
    then its deletions as ``.wh.`` entries and ``.wh..wh..opq`` markers.
    ``parent_layer_paths`` are checked to be layers; the layer's own folder
    holds its whole delta, so they are not read."""
    L.check_parents(parent_layer_paths)
    layer = Path(os.path.abspath(path))  # noqa: ASYNC240 (string work and one getcwd)
    await run_blocking(
        lambda stop: export_sync(dest, layer, stop),
        timeout=timeout,
        what=f"export of layer {str(layer)!r}",
    )
