"""Builders for the documents almost every user needs (hand-written, not generated).

* :func:`container_document` -- the ``ComputeSystem`` document of a process-isolated
  container, shaped like hcsshim's (``internal/hcsoci/hcsdoc_wcow.go``).
* :func:`process_parameters` -- ``ProcessParameters`` from an argv list, with both the
  Windows ``CommandLine`` and the ``CommandArgs`` list (Linux guests and the emulator).
* :func:`join_windows_command_line` / :func:`split_windows_command_line` -- argv <-> one
  Windows command line, with the quoting rules of ``CommandLineToArgvW``.
"""

import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

from . import v2

__all__ = [
    "LAYER_ID_NAMESPACE",
    "MappedDirectorySpec",
    "container_document",
    "join_windows_command_line",
    "layer_id",
    "process_parameters",
    "split_windows_command_line",
]

#: Namespace of the layer IDs :func:`layer_id` derives (UUID version 5).
LAYER_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://hcsaio.invalid/schema/layer-id")

StrPath: TypeAlias = str | os.PathLike[str]
#: A mapped directory: a ``v2.MappedDirectory``, ``(host, container)`` or
#: ``(host, container, read_only)``.
MappedDirectorySpec: TypeAlias = (
    v2.MappedDirectory | tuple[StrPath, str] | tuple[StrPath, str, bool]
)

_UINT32_MAX = 2**32 - 1
_UINT16_MAX = 2**16 - 1
_UINT64_MAX = 2**64 - 1


def layer_id(path: StrPath) -> str:
    """A deterministic layer GUID for a layer folder: UUIDv5 of its folder name.

    hcsshim asks vmcompute.dll's ``NameToGuid`` for the folder name instead; that function
    exists only on Windows, so this is a different (but equally stable) GUID. Pass
    ``v2.Layer`` objects to :func:`container_document` when the IDs must match the ones
    hcsshim or docker computed for the same layers.
    """
    text = os.fspath(path).rstrip("\\/")
    name = re.split(r"[\\/]", text)[-1]
    if not name:
        raise ValueError(f"layer path {os.fspath(path)!r} has no folder name")
    return str(uuid.uuid5(LAYER_ID_NAMESPACE, name))


def container_document(
    *,
    layers: Sequence[StrPath | v2.Layer] = (),
    scratch_dir: StrPath | None = None,
    owner: str = "hcsaio",
    mapped_directories: Iterable[MappedDirectorySpec] = (),
    memory_mb: int | None = None,
    cpu_count: int | None = None,
    hostname: str | None = None,
    endpoints: Sequence[str] = (),
    network_namespace: str | None = None,
    dns_search: Sequence[str] = (),
    schema_version: tuple[int, int] = (2, 1),
    terminate_on_last_handle_closed: bool = True,
) -> v2.ComputeSystem:
    """The ``ComputeSystem`` document of a process-isolated (Argon) container.

    ``layers`` are the read-only parent layer folders, topmost first (OCI
    ``Windows.LayerFolders`` without the scratch folder); a path becomes
    ``Layer(id=layer_id(path), path=path)``. ``scratch_dir`` is the container's writable
    scratch (``Storage.Path``; on Windows the mounted volume path). ``mapped_directories``
    map host directories into the container. ``memory_mb`` and ``cpu_count`` limit the
    container. Networking: ``endpoints`` lists HCN endpoint IDs (``NetworkAdapters``);
    ``network_namespace`` names an HCN namespace holding the endpoints instead (hcsshim's
    way); ``dns_search`` is the DNS suffix search list. ``terminate_on_last_handle_closed``
    (hcsshim sets it) makes HCS kill the container when its last handle closes.

    Raises ``ValueError``/``TypeError`` for values HCS would reject.
    """
    storage_layers = [_layer(item) for item in layers]
    storage = None
    if storage_layers or scratch_dir is not None:
        storage = v2.Storage(
            layers=storage_layers or None,
            path=os.fspath(scratch_dir) if scratch_dir is not None else "",
        )
    networking = None
    if endpoints or network_namespace or dns_search:
        networking = v2.Networking(
            network_adapters=[_text("endpoint", e) for e in endpoints] or None,
            namespace=network_namespace or "",
            dns_search_list=",".join(dns_search),
        )
    container = v2.Container(
        guest_os=v2.GuestOs(host_name=hostname) if hostname else None,
        storage=storage,
        mapped_directories=[_mapped_directory(m) for m in mapped_directories] or None,
        memory=(
            v2.Memory(size_in_mb=_positive("memory_mb", memory_mb, _UINT64_MAX))
            if memory_mb is not None
            else None
        ),
        processor=(
            v2.Processor(count=_positive("cpu_count", cpu_count, _UINT32_MAX))
            if cpu_count is not None
            else None
        ),
        networking=networking,
    )
    major, minor = schema_version
    return v2.ComputeSystem(
        owner=_text("owner", owner),
        schema_version=v2.Version(
            major=_positive("schema_version", major, _UINT32_MAX, allow_zero=True),
            minor=_positive("schema_version", minor, _UINT32_MAX, allow_zero=True),
        ),
        container=container,
        should_terminate_on_last_handle_closed=terminate_on_last_handle_closed,
    )


def process_parameters(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    user: str | None = None,
    tty: bool = False,
    console_size: tuple[int, int] | os.terminal_size | v2.ConsoleSize | None = None,
    stdin: bool = False,
    stdout: bool = False,
    stderr: bool = False,
) -> v2.ProcessParameters:
    """``ProcessParameters`` to run ``argv`` (``argv[0]`` is the program).

    ``CommandLine`` is ``argv`` quoted for Windows (:func:`join_windows_command_line`),
    ``CommandArgs`` is ``argv`` itself (used by Linux guests and the emulator). ``env``
    becomes the whole environment, ``cwd`` the working directory, ``user`` the account.
    ``stdin``/``stdout``/``stderr`` ask HCS for pipes (nothing is connected otherwise).
    ``tty`` emulates a console (a pseudo console on Windows, a pty in the emulator); a
    console merges stderr into stdout, so ``stderr=True`` is refused with it.
    ``console_size`` is ``(height, width)`` -- HCS's order, rows first -- or an
    ``os.terminal_size`` (which is ``(columns, lines)``; converted) or a ``v2.ConsoleSize``;
    it needs ``tty``.
    """
    if isinstance(argv, str | bytes):
        raise TypeError("argv must be a sequence of strings, not a single string")
    args = [_text("argv item", a) for a in argv]
    if not args:
        raise ValueError("argv must name at least the program")
    if tty and stderr:
        raise ValueError("a console (tty=True) merges stderr into stdout; do not ask for stderr")
    if console_size is not None and not tty:
        raise ValueError("console_size needs tty=True")
    environment = None
    if env is not None:
        environment = {_text("env name", k): _text("env value", v) for k, v in env.items()}
        if any(not k or "=" in k for k in environment):
            raise ValueError("environment variable names must be non-empty and contain no '='")
    return v2.ProcessParameters(
        command_line=join_windows_command_line(args),
        command_args=args,
        environment=environment,
        working_directory=_text("cwd", cwd) if cwd is not None else "",
        user=_text("user", user) if user is not None else "",
        emulate_console=tty,
        create_std_in_pipe=stdin,
        create_std_out_pipe=stdout,
        create_std_err_pipe=stderr,
        console_size=_console_size(console_size) if console_size is not None else None,
    )


# --------------------------------------------------------------------------- command lines

_WHITESPACE = " \t\n\v\f\r"  # isspace(): ends an unquoted program name
_BLANK = " \t"  # isblank(): separates the arguments after it
_NEEDS_QUOTES = ' \t\n\v"'


def join_windows_command_line(argv: Sequence[str]) -> str:
    """Join ``argv`` into one Windows command line that parses back to exactly ``argv``.

    The inverse of :func:`split_windows_command_line` (and of ``CommandLineToArgvW`` and the
    Microsoft C runtime, which agree on everything this function produces):

    * ``argv[0]``, the program name, is parsed without escapes: it is quoted when empty or
      when it contains whitespace, and it cannot contain ``"`` (``ValueError``).
    * Any other argument is left alone unless it is empty or contains a space, tab,
      newline, vertical tab or ``"``; then it is wrapped in quotes, each ``"`` becomes
      ``\\"``, and backslashes are doubled where they precede a ``"`` (including the
      closing one). Backslashes elsewhere are literal.

    NUL cannot appear in a Windows command line (``ValueError``).
    """
    if isinstance(argv, str | bytes):
        raise TypeError("argv must be a sequence of strings, not a single string")
    if not argv:
        raise ValueError("argv must name at least the program")
    program, *args = (_text("argv item", a) for a in argv)
    if "\0" in program or '"' in program:
        raise ValueError(f"the program name cannot contain NUL or a double quote: {program!r}")
    if not program or any(c in _WHITESPACE for c in program):
        program = f'"{program}"'
    return " ".join([program, *(_quote_argument(a) for a in args)])


def _quote_argument(arg: str) -> str:
    if "\0" in arg:
        raise ValueError(f"an argument cannot contain NUL: {arg!r}")
    if arg and not any(c in _NEEDS_QUOTES for c in arg):
        return arg
    out = ['"']
    backslashes = 0
    for c in arg:
        if c == "\\":
            backslashes += 1
            continue
        if c == '"':  # double the backslashes before it, then escape the quote itself
            out.append("\\" * (2 * backslashes + 1) + '"')
        else:
            out.append("\\" * backslashes + c)
        backslashes = 0
    out.append("\\" * (2 * backslashes) + '"')  # doubled: they precede the closing quote
    return "".join(out)


def split_windows_command_line(command_line: str) -> list[str]:
    """Split a Windows command line into argv exactly as ``CommandLineToArgvW`` does.

    * The program name (first argument) ends at the next whitespace, or, when it starts
      with ``"``, at the next ``"``; backslashes in it are literal.
    * After it, arguments are separated by spaces and tabs outside quotes; ``"`` toggles
      quoting; ``2n`` backslashes before a ``"`` give ``n`` backslashes (and the quote
      toggles), ``2n+1`` give ``n`` and a literal ``"``; other backslashes are literal.
    * Consecutive quotes follow shell32's counting rule (every third quote of a run is a
      literal ``"``), which differs from the C runtime's (``""`` inside quotes is a literal
      ``"``) only for such runs; :func:`join_windows_command_line` never writes one.

    The one deliberate difference: an empty command line gives ``[]`` (Windows returns
    the path of the calling executable instead).
    """
    s = command_line
    n = len(s)
    if n == 0:
        return []
    if s[0] == '"':
        end = s.find('"', 1)
        program, i = (s[1:], n) if end < 0 else (s[1:end], end + 1)
    else:
        i = 0
        while i < n and s[i] not in _WHITESPACE:
            i += 1
        program = s[:i]
        i = min(i + 1, n)  # the whitespace character that ended it
    argv = [program]
    while i < n and s[i] in _BLANK:
        i += 1
    if i == n:
        return argv

    current: list[str] = []
    open_argument = True
    quotes = 0  # shell32's qcount: 1 inside quotes, 0 outside (2 folds back to 0)
    backslashes = 0  # backslashes right before the current character
    while i < n:
        c = s[i]
        if c in _BLANK and quotes == 0:
            argv.append("".join(current))
            current = []
            backslashes = 0
            while i < n and s[i] in _BLANK:
                i += 1
            open_argument = i < n
            continue
        if c == "\\":
            current.append(c)
            backslashes += 1
            i += 1
            continue
        if c == '"':
            if backslashes % 2 == 0:  # 2n backslashes: n of them, and the quote toggles
                del current[len(current) - backslashes // 2 :]
                quotes += 1
            else:  # 2n+1 backslashes: n of them and a literal quote
                del current[len(current) - backslashes // 2 - 1 :]
                current.append('"')
            i += 1
            backslashes = 0
            while i < n and s[i] == '"':
                quotes += 1
                if quotes == 3:
                    current.append('"')
                    quotes = 0
                i += 1
            if quotes == 2:
                quotes = 0
            continue
        current.append(c)
        backslashes = 0
        i += 1
    if open_argument:
        argv.append("".join(current))
    return argv


# --------------------------------------------------------------------------- helpers


def _text(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    return value


def _positive(what: str, value: object, maximum: int, *, allow_zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < (0 if allow_zero else 1) or value > maximum:
        low = 0 if allow_zero else 1
        raise ValueError(f"{what} must be between {low} and {maximum}, not {value}")
    return value


def _layer(item: StrPath | v2.Layer) -> v2.Layer:
    if isinstance(item, v2.Layer):
        return item
    path = os.fspath(item)
    return v2.Layer(id=layer_id(path), path=path)


def _mapped_directory(spec: MappedDirectorySpec) -> v2.MappedDirectory:
    if isinstance(spec, v2.MappedDirectory):
        return spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise TypeError(
            "a mapped directory is a v2.MappedDirectory, (host, container) or "
            f"(host, container, read_only), not {spec!r}"
        )
    host, container = os.fspath(spec[0]), _text("container path", spec[1])
    read_only = spec[2] if len(spec) == 3 else False
    if not isinstance(read_only, bool):
        raise TypeError(f"read_only must be a bool, not {type(read_only).__name__}")
    return v2.MappedDirectory(host_path=host, container_path=container, read_only=read_only)


def _console_size(size: tuple[int, int] | os.terminal_size | v2.ConsoleSize) -> list[int]:
    if isinstance(size, os.terminal_size):  # (columns, lines): rows go first for HCS
        height, width = size.lines, size.columns
    elif isinstance(size, v2.ConsoleSize):
        height, width = size.height, size.width
    else:
        height, width = size
    return [
        _positive("console height", height, _UINT16_MAX),
        _positive("console width", width, _UINT16_MAX),
    ]
