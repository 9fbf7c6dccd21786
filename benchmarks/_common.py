"""What every benchmark module shares: result rows, percentiles, process gauges.

A benchmark module is ``bench_<name>.py`` with ``run(quick: bool) -> list[dict]``
returning one row per (metric, baseline), and optionally ``REPEATS = (quick,
full)`` (how many times the harness calls ``run``) and ``SAMPLES``, a dict it
fills with latency samples for ``--plot``.

A row's ``ratio`` is always oriented so that bigger is better for hcsaio:
``baseline / value`` for times, latencies and memory, ``value / baseline`` for
rates. Keys starting with ``_`` are private to the harness:

* ``_check``: how ``ok`` is judged: ``"ratio>="`` (the default: ratio >=
  target), ``"value<="`` (value <= target, e.g. memory under a budget);
* ``_better``: ``"higher"`` or ``"lower"``, the direction of ``value`` (for
  the table's wording only).
"""

from __future__ import annotations

import math
import os
import resource
from collections.abc import Sequence
from typing import Any

Row = dict[str, Any]

#: Which run of a benchmark this interpreter does (0, 1, ...), set by the
#: harness; benchmarks vary who goes first with it.
REPEAT = 0


def row(
    name: str,
    metric: str,
    unit: str,
    value: float | None,
    *,
    baseline: str | None = None,
    baseline_value: float | None = None,
    higher_is_better: bool = True,
    target: float | None = None,
    check: str = "ratio>=",
    digits: int = 3,
) -> Row:
    """One result row; ``ok`` is computed here (and again by the harness
    after it aggregates repeats)."""
    ratio = None
    if value is not None and baseline_value is not None and value > 0 and baseline_value > 0:
        ratio = value / baseline_value if higher_is_better else baseline_value / value
        ratio = round(ratio, 2)  # judged as displayed
    out: Row = {
        "name": name,
        "metric": metric,
        "unit": unit,
        "value": _round(value, digits),
        "baseline": baseline,
        "baseline_value": _round(baseline_value, digits),
        "ratio": ratio,
        "target": target,
        "ok": None,
        "_check": check,
        "_better": "higher" if higher_is_better else "lower",
    }
    out["ok"] = judge(out)
    return out


def judge(r: Row) -> bool | None:
    """Whether a row meets its target; None when it has none (informational)."""
    target = r.get("target")
    if target is None:
        return None
    check = r.get("_check", "ratio>=")
    if check == "value<=":
        return r["value"] is not None and r["value"] <= target
    return r["ratio"] is not None and r["ratio"] >= target


def _round(x: float | None, digits: int) -> float | None:
    if x is None:
        return None
    if x == 0 or not math.isfinite(x):
        return float(x)
    # significant digits, so 0.00123 and 123456 both keep their precision
    return float(round(x, max(0, digits - 1 - math.floor(math.log10(abs(x))))))


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


def thread_count() -> int:
    """Threads of this process right now (/proc/self/status ``Threads``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise RuntimeError("no Threads line in /proc/self/status")


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process now."""
    return _status_kib(pid, "VmRSS:") * 1024


def peak_rss_bytes(pid: int | str = "self") -> int:
    """Peak resident set size (VmHWM) of a process."""
    return _status_kib(pid, "VmHWM:") * 1024


def _status_kib(pid: int | str, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} line in /proc/{pid}/status")


def children_peak_rss_bytes() -> int:
    """Largest peak RSS among this process's waited-for children."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
