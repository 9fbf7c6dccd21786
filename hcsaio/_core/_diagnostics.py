"""``pending_operations()``: what is in flight, for diagnosis of hangs."""

from __future__ import annotations

from ._dispatch import PendingOperation, all_pending

__all__ = ["PendingOperation", "pending_operations"]


def pending_operations() -> list[PendingOperation]:
    """Every HCS operation hcsaio is waiting for, in every event loop of the
    process: the HCS function, the compute system id and process id it is
    about, when it started, and whether it is running, being cancelled, or
    was abandoned after a cancel grace period (it is closed when it ends)."""
    return sorted(all_pending(), key=lambda p: p.started)
