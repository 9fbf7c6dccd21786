"""Workloads start with default signal dispositions, whatever the service
inherited.

An ignored disposition (SIG_IGN) survives fork and exec, and the shells that
start daemons hand out plenty of them: a non-interactive shell starts its
``&`` jobs with SIGINT and SIGQUIT ignored, ``nohup`` ignores SIGHUP. A
container process of a service started that way could not be interrupted
(``CtrlC`` did nothing, ``sh`` refused to trap SIGQUIT). Container runtimes
reset every signal before exec; the namespace shim does so in C, and this
module does it for the host-mode children that ``subprocess.Popen`` starts
directly from the service (where a ``preexec_fn`` would cost the fast
vfork path on every spawn).

The trick: each inherited SIG_IGN becomes a Python handler that does
nothing. The service still ignores the signal (so ``nohup`` keeps working
for it), but a handler, unlike SIG_IGN, is reset to SIG_DFL by exec.
"""

from __future__ import annotations

import signal

# Python itself ignores SIGPIPE, and Popen(restore_signals=True) restores it.
_LEFT_ALONE = {signal.SIGPIPE}


def _ignore(signum: int, frame: object) -> None:
    """Stands in for an inherited SIG_IGN (see the module docstring)."""


def stop_passing_on_ignored_signals() -> list[int]:
    """Replace every inherited SIG_IGN with a no-op handler; returns the
    signals changed. Call from the main thread before starting children."""
    changed: list[int] = []
    for signum in signal.valid_signals():
        if signum in _LEFT_ALONE or signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                continue
            signal.signal(signum, _ignore)
        except (OSError, ValueError):  # real-time signals glibc reserves
            continue
        changed.append(int(signum))
    return changed
