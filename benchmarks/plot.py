"""``--plot``: latency distributions of the bridge against its baselines.

One PNG per benchmark that reported samples, one panel per load (one
operation in flight; a burst), one line per design: the cumulative
distribution of callback-to-awaiter latency on a log axis, so medians and
tails of all designs can be read off the same picture. Series are named
``"<design>|<load>"`` by the benchmark.
"""

from __future__ import annotations

from pathlib import Path

#: Same colour for the same design in every panel.
_COLOURS = {
    "(a)": "tab:red",
    "(b)": "tab:orange",
    "(c) C-only limit": "tab:gray",
    "(c) eventfd": "tab:olive",
    "(d)": "tab:blue",
}


def _colour(label: str) -> str | None:
    for prefix, colour in _COLOURS.items():
        if label.startswith(prefix):
            return colour
    return None


def _us(x: float) -> str:
    return f"{x:.3g} µs" if x < 1000 else f"{x / 1000:.3g} ms"


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def plot_latencies(samples: dict[str, dict[str, list[float]]], directory: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for bench, series in samples.items():
        loads: dict[str, dict[str, list[float]]] = {}
        for key, values in series.items():
            design, _, load = key.partition("|")
            if values:
                loads.setdefault(load or "all", {})[design] = sorted(values)
        if not loads:
            continue
        fig, axes = plt.subplots(1, len(loads), figsize=(7.5 * len(loads), 5.2), squeeze=False)
        for ax, (load, designs) in zip(axes[0], loads.items(), strict=True):
            for design, ordered in sorted(designs.items()):
                n = len(ordered)
                ys = [(i + 1) / n for i in range(n)]
                p50, p99 = _percentile(ordered, 50), _percentile(ordered, 99)
                ax.step(
                    ordered,
                    ys,
                    where="post",
                    color=_colour(design),
                    label=f"{design}\n  p50 {_us(p50)}, p99 {_us(p99)}",
                )
                ax.plot([p50], [0.5], "o", color=_colour(design), markersize=4)
            ax.set_xscale("log")
            ax.set_xlabel("callback-to-awaiter latency (µs, log scale)")
            ax.set_ylabel("fraction of completions")
            ax.set_title(f"{bench}: {load}")
            ax.axhline(0.5, color="black", linewidth=0.5, linestyle=":")
            ax.axhline(0.99, color="black", linewidth=0.5, linestyle=":")
            ax.grid(True, which="both", alpha=0.25)
            ax.legend(fontsize=7.5, loc="upper left", framealpha=0.9)
        fig.suptitle(
            f"{bench} latency: cumulative distribution (dotted: p50, p99); a flat start at the"
            " left edge is samples counted as 0 (the thread pool's wait can return before the"
            " fake's stamping callback runs)",
            fontsize=9,
        )
        fig.tight_layout()
        path = directory / f"{bench}_latency.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
