"""The cancel grace: how long a timed-out or cancelled operation may take to
finish after ``HcsCancelOperation`` before hcsaio abandons it.

Waiting for the completion is what keeps the cancellation contract (nothing
an HCS call uses is freed while it runs), so a timeout or a cancellation
takes up to ``timeout + grace``. Real HCS documents ``HcsCancelOperation``
as ``E_NOTIMPL``: there, a call that does not finish by itself takes the
whole grace. An abandoned operation is not freed: the dispatcher closes it
when its completion arrives (or the bridge does, if its loop is gone), and
``pending_operations()`` lists it as ``"abandoned"`` until then.

The grace that applies, first match wins:

1. ``cancel_grace=`` of the call (the internal ``_operation.run``);
2. :func:`cancel_grace`, a context manager for the operations started
   inside it (tasks started inside inherit it, as any context variable);
3. :func:`set_default_cancel_grace`, for the whole process;
4. the environment variable ``HCSAIO_CANCEL_GRACE`` (seconds), read once,
   when the first event loop starts using hcsaio;
5. 10 seconds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

DEFAULT_CANCEL_GRACE = 10.0
ENVIRONMENT_VARIABLE = "HCSAIO_CANCEL_GRACE"

_default: float | None = None
_scoped: ContextVar[float | None] = ContextVar("hcsaio_cancel_grace", default=None)


def check_grace(value: object, what: str = "cancel_grace") -> float:
    """``value`` as seconds, or TypeError/ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number of seconds, not {type(value).__name__}")
    if not (value >= 0 and math.isfinite(value)):  # also rejects NaN
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def default_cancel_grace() -> float:
    """The process-wide default grace in seconds (see the module docs)."""
    global _default
    if _default is None:
        text = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
        if not text:
            _default = DEFAULT_CANCEL_GRACE
        else:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(
                    f"{ENVIRONMENT_VARIABLE} must be a number of seconds, not {text!r}"
                ) from None
            _default = check_grace(value, ENVIRONMENT_VARIABLE)
    return _default


def set_default_cancel_grace(seconds: float) -> None:
    """Set the process-wide default grace (overrides ``HCSAIO_CANCEL_GRACE``)."""
    global _default
    _default = check_grace(seconds)


@contextmanager
def cancel_grace(seconds: float) -> Iterator[None]:
    """Operations started inside this block get ``seconds`` of grace::

    with hcsaio.cancel_grace(1.0):
        await container.start(timeout=5)  # raises after at most 6 s
    """
    reset = _scoped.set(check_grace(seconds))
    try:
        yield
    finally:
        _scoped.reset(reset)


def effective_grace(per_call: float | None) -> float:
    """The grace for one operation being cancelled now."""
    if per_call is not None:
        return per_call
    scoped = _scoped.get()
    return scoped if scoped is not None else default_cancel_grace()
