"""A small base layer built from the host, so containers have an image without
network access: a shell, coreutils, python3 with its standard library, a few
tools, the shared libraries they load, and /etc/passwd and /etc/group with
root and nobody.

Files are hard-linked from the host where the layer lives on the same
filesystem (free and fast; overlayfs never writes to a lower layer) and
copied otherwise. Host symlinks are reproduced as symlinks, so the layer has
the host's layout (merged /usr included) and the ELF interpreter and library
paths baked into the binaries resolve inside the container.

``make_base_layer`` is idempotent: a finished layer carries a stamp file and
a second call returns at once. Usage: ``python -m hcsaio.emulator
make-base-layer DIR``.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["main", "make_base_layer"]

# Bump when what goes into a layer changes: older stamps then rebuild.
LAYER_FORMAT = 1
STAMP = ".hcsaio-base-layer"

HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

COREUTILS = (
    "[", "arch", "base64", "basename", "cat", "chgrp", "chmod", "chown", "cksum", "comm",
    "cp", "cut", "date", "dd", "df", "dirname", "du", "echo", "env", "expand", "expr",
    "factor", "false", "fmt", "fold", "head", "hostid", "id", "install", "join", "link",
    "ln", "logname", "ls", "md5sum", "mkdir", "mkfifo", "mknod", "mktemp", "mv", "nice",
    "nl", "nohup", "nproc", "numfmt", "od", "paste", "pathchk", "pr", "printenv", "printf",
    "pwd", "readlink", "realpath", "rm", "rmdir", "seq", "sha1sum", "sha256sum", "shred",
    "shuf", "sleep", "sort", "split", "stat", "stdbuf", "stty", "sum", "sync", "tac", "tail",
    "tee", "test", "timeout", "touch", "tr", "true", "truncate", "tsort", "tty", "uname",
    "unexpand", "uniq", "unlink", "uptime", "users", "wc", "who", "whoami", "yes",
)  # fmt: skip
# Optional extras, taken when the host has them.
EXTRAS = ("sh", "bash", "dash", "grep", "sed", "ps", "kill", "mount", "umount", "hostname")

# Parts of the standard library nothing in a test container needs.
STDLIB_SKIP = frozenset(
    {
        "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data",
        "site-packages", "dist-packages", "__phello__",
    }
)  # fmt: skip

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""
GROUP = """\
root:x:0:
nogroup:x:65534:
nobody:x:65534:
"""
HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

_LDD_PATH = re.compile(r"(?:=>\s+|^\s*)(/\S+)\s+\(0x[0-9a-f]+\)")


class _Replicator:
    """Reproduces host paths under ``root``: symlinks as symlinks (then their
    targets), directories as directories, files as hard links or copies."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: set[str] = set()  # host paths of regular files placed
        self._same_fs = True

    def _dest(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def add(self, host_path: str, *, depth: int = 0) -> None:
        """Place ``host_path`` (absolute), following symlinks on the way."""
        if depth > 40:
            raise OSError(errno.ELOOP, "too many levels of symbolic links", host_path)
        parts = [p for p in host_path.split("/") if p]
        current = "/"
        for i, part in enumerate(parts):
            host = os.path.join(current, part)
            dest = self._dest(host)
            if os.path.islink(host):
                target = os.readlink(host)
                if not os.path.lexists(dest):
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(target, dest)
                resolved = os.path.normpath(
                    target if target.startswith("/") else os.path.join(current, target)
                )
                rest = parts[i + 1 :]
                self.add(os.path.join(resolved, *rest) if rest else resolved, depth=depth + 1)
                return
            if i < len(parts) - 1:
                dest.mkdir(parents=True, exist_ok=True)
                current = host
                continue
            st = os.lstat(host)
            if stat.S_ISDIR(st.st_mode):
                self.add_tree(host)
            elif stat.S_ISREG(st.st_mode):
                self._place_file(host, dest)
            return

    def add_tree(self, host_dir: str, skip: frozenset[str] = frozenset()) -> None:
        for dirpath, dirnames, filenames in os.walk(host_dir):
            dirnames[:] = [d for d in dirnames if d not in skip and not d.startswith("config-")]
            dest_dir = self._dest(dirpath)
            dest_dir.mkdir(parents=True, exist_ok=True)
            for name in filenames:
                host = os.path.join(dirpath, name)
                if os.path.islink(host):
                    self.add(host)
                elif os.path.isfile(host):
                    self._place_file(host, dest_dir / name)
            # symlinked directories are in dirnames but os.walk does not enter them
            for name in list(dirnames):
                host = os.path.join(dirpath, name)
                if os.path.islink(host):
                    dirnames.remove(name)
                    self.add(host)

    def _place_file(self, host: str, dest: Path) -> None:
        self.files.add(host)
        if os.path.lexists(dest):
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        if self._same_fs:
            try:
                os.link(host, dest)
                return
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
                self._same_fs = False
        shutil.copy2(host, dest)


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _shared_libraries(files: Iterable[str]) -> set[str]:
    """Library paths ldd reports for the ELF files among ``files``."""
    elves = sorted(f for f in files if not f.endswith((".py", ".pyc")) and _is_elf(f))
    found: set[str] = set()
    for start in range(0, len(elves), 200):
        batch = elves[start : start + 200]
        out = subprocess.run(["ldd", *batch], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            m = _LDD_PATH.search(line)
            if m:
                found.add(m.group(1))
    return found


def _python_layout(python: str) -> dict[str, str]:
    code = (
        "import json, sys, sysconfig;"
        "dyn = [p for p in sys.path if p.endswith('lib-dynload')];"
        "print(json.dumps({'stdlib': sysconfig.get_path('stdlib'),"
        " 'dynload': dyn[0] if dyn else '', 'version': sys.version}))"
    )
    out = subprocess.run(
        [python, "-S", "-I", "-c", code], capture_output=True, text=True, check=True
    ).stdout
    layout: dict[str, str] = json.loads(out)
    return layout


def _find_python(explicit: str | None) -> str:
    if explicit:
        return explicit
    found = shutil.which("python3", path=HOST_PATH)
    # the running interpreter is the fallback (pyenv shims are scripts, skip them)
    return found or os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def _tools() -> Iterator[str]:
    for name in (*EXTRAS, *COREUTILS):
        found = shutil.which(name, path=HOST_PATH)
        if found:
            yield found
    if os.path.exists("/bin/sh"):
        yield "/bin/sh"  # scripts say #!/bin/sh whatever the host's layout


def _fingerprint(python: str) -> str:
    st = os.stat(python)
    return json.dumps({"format": LAYER_FORMAT, "python": python, "python_mtime": st.st_mtime_ns})


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_skeleton(root: Path) -> None:
    for name, mode in (
        ("proc", 0o555), ("sys", 0o555), ("dev", 0o755), ("tmp", 0o1777), ("root", 0o700),
        ("etc", 0o755), ("run", 0o755), ("home", 0o755), ("var/tmp", 0o1777),
    ):  # fmt: skip
        path = root / name
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
    etc = root / "etc"
    for name, text in (("passwd", PASSWD), ("group", GROUP), ("hosts", HOSTS)):
        (etc / name).unlink(missing_ok=True)
        (etc / name).write_text(text)


def make_base_layer(dest: str | os.PathLike[str], *, python: str | None = None) -> Path:
    """Build (or reuse) a base layer in ``dest``; returns its absolute path."""
    root = Path(dest).absolute()
    root.mkdir(parents=True, exist_ok=True)
    interpreter = _find_python(python)
    fingerprint = _fingerprint(interpreter)
    stamp = root / STAMP
    with _locked(root):
        if stamp.exists() and stamp.read_text() == fingerprint:
            return root
        stamp.unlink(missing_ok=True)
        rep = _Replicator(root)
        for tool in _tools():
            rep.add(tool)
        layout = _python_layout(interpreter)
        rep.add(interpreter)
        if not os.path.lexists(rep.root / "usr/bin/python3"):
            (rep.root / "usr/bin").mkdir(parents=True, exist_ok=True)
            os.symlink(interpreter, rep.root / "usr/bin/python3")
        rep.add_tree(layout["stdlib"], STDLIB_SKIP)
        if layout["dynload"]:
            rep.add_tree(layout["dynload"])
        # libraries of libraries are listed by ldd already (it resolves the closure)
        for lib in sorted(_shared_libraries(rep.files)):
            rep.add(lib)
        _write_skeleton(root)
        stamp.write_text(fingerprint)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hcsaio.emulator make-base-layer",
        description="Build a small root filesystem layer from the host's binaries.",
    )
    parser.add_argument("dir", help="layer folder to create or refresh")
    parser.add_argument("--python", help="interpreter to include (default: the host's python3)")
    args = parser.parse_args(argv)
    path = make_base_layer(args.dir, python=args.python)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
