"""Signal names for ``hcsaio kill --signal``.

Numbers are the *guest's* signal numbers (Linux guests and the emulator),
so the table is Linux's whatever the host is: ``TERM``, ``SIGTERM``,
``term`` and ``15`` are the same signal. The Windows console control events
go by their HCS names (``CtrlC``, ``CtrlBreak``, ``CtrlClose``,
``CtrlLogOff``, ``CtrlShutdown``; case and ``-``/``_`` do not matter).
"""

from __future__ import annotations

from typing import Final

#: HCS's SignalProcessOptions names for the Windows console control events.
CTRL_SIGNALS: Final = ("CtrlC", "CtrlBreak", "CtrlClose", "CtrlLogOff", "CtrlShutdown")
SIGKILL: Final = 9

LINUX_SIGNALS: Final = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
    "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
    "TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21,
    "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28,
    "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31, "RTMIN": 34, "RTMAX": 64,
}  # fmt: skip

_CTRL_BY_KEY: Final = {name.lower(): name for name in CTRL_SIGNALS}


def parse_signal(text: str) -> int | str:
    """A signal number (1..64) or a Ctrl* name; ValueError names the choices."""
    spec = text.strip()
    if spec.isdigit():
        number = int(spec)
        if 1 <= number <= 64:
            return number
        raise ValueError(f"signal number {number} is outside 1..64")
    key = spec.replace("-", "").replace("_", "").lower()
    if key in _CTRL_BY_KEY:
        return _CTRL_BY_KEY[key]
    name = spec.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name in LINUX_SIGNALS:
        return LINUX_SIGNALS[name]
    raise ValueError(
        f"unknown signal {text!r}: use a number, a name such as TERM, SIGKILL or USR1, "
        f"or one of {', '.join(sorted(CTRL_SIGNALS))}"
    )
