"""Choosing the stdio classes for the pipe handles HCS hands back: POSIX fds
(the emulator) or overlapped pipe HANDLEs on the Windows Proactor.

A module of its own because ``_stdio_windows`` builds on ``_stdio``: the
chooser needs both, and ``_stdio`` importing ``_stdio_windows`` back made a
cycle.
"""

from __future__ import annotations

import sys

from ._stdio import PipeReader, PipeWriter


def open_reader(handle: int, *, name: str) -> PipeReader:
    """A reader for a process pipe HCS handed back: an fd on POSIX (the
    emulator), an overlapped pipe HANDLE on the Windows Proactor."""
    if sys.platform == "win32":
        from ._stdio_windows import ProactorPipeReader

        return ProactorPipeReader(handle, name=name)
    else:
        return PipeReader(handle, name=name)


def open_writer(handle: int, *, name: str) -> PipeWriter:
    """A writer for a process pipe HCS handed back (see :func:`open_reader`)."""
    if sys.platform == "win32":
        from ._stdio_windows import ProactorPipeWriter

        return ProactorPipeWriter(handle, name=name)
    else:
        return PipeWriter(handle, name=name)
