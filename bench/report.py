"""Printing, saving and plotting benchmark results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench.measure import Measurement

#: Where results go; CI's smoke runs point ``BENCH_RESULTS`` elsewhere.
RESULTS = Path(os.environ.get("BENCH_RESULTS") or Path(__file__).parent / "results")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        pg = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except OSError:
        pg = "unknown"
    cpus = (
        Path("/proc/cpuinfo").read_text().count("processor\t:")
        if Path("/proc/cpuinfo").exists()
        else None
    )
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": cpus,
        "postgresql": pg,
        "crm_hub": _version("crm-hub"),
        "sqlalchemy": _version("sqlalchemy"),
        "polars": _version("polars"),
        "psycopg": _version("psycopg"),
    }


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def table(
    title: str, rows: list[Measurement], baseline: Measurement | None = None, unit: str = "rows"
) -> str:
    """A plain-text table: rows (or another ``unit``), seconds, rows/s, peak MB and the
    ratio to ``baseline``."""
    head = f"{'job':<34} {unit:>10} {'seconds':>9} {unit + '/s':>11} {'peak MB':>9}"
    if baseline:
        head += f" {'vs ' + baseline.name:>16}"
    lines = [title, head, "-" * len(head)]
    for m in rows:
        line = (
            f"{m.name:<34} {m.rows:>10,} {m.seconds:>9.2f} "
            f"{m.rows_per_s:>11,.0f} {m.peak_mb:>9,.0f}"
        )
        if baseline:
            ratio = m.rows_per_s / baseline.rows_per_s if baseline.rows_per_s else 0.0
            line += f" {ratio:>15.2f}x"
        lines.append(line)
    return "\n".join(lines)


def save(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/NAME.json`` and return its path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def bar_chart(name: str, title: str, measurements: list[Measurement]) -> Path:
    """A horizontal bar chart of rows/s (with peak memory in the labels) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.6 * len(measurements) + 1.5))
    names = [m.name for m in measurements][::-1]
    speeds = [m.rows_per_s for m in measurements][::-1]
    bars = ax.barh(
        names, speeds, color=["#3b7dd8" if n.startswith("crm-hub") else "#9aa5b1" for n in names]
    )
    for bar, m in zip(bars, measurements[::-1], strict=True):
        ax.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f" {m.rows_per_s:,.0f} rows/s, {m.peak_mb:,.0f} MB",
            va="center",
            fontsize=8,
        )
    ax.set_xlabel("rows per second (higher is better)")
    ax.set_title(title)
    ax.set_xlim(0, max(speeds) * 1.45)
    fig.tight_layout()
    return _save_fig(fig, name)


def scaling_chart(
    name: str,
    title: str,
    sizes: list[int],
    series: dict[str, list[Measurement]],
    unit: str = "order lines",
) -> Path:
    """Time and peak memory against table size, one line per job, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for label, points in series.items():
        left.plot(sizes, [m.seconds for m in points], marker="o", label=label)
        right.plot(sizes, [m.peak_mb for m in points], marker="o", label=label)
    for ax, ylabel in ((left, "seconds"), (right, "peak memory (MB)")):
        ax.set_xscale("log")
        ax.set_xlabel(unit)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    right.set_ylim(bottom=0)
    fig.suptitle(title)
    fig.tight_layout()
    return _save_fig(fig, name)


def _save_fig(fig: Any, name: str) -> Path:
    import matplotlib.pyplot as plt

    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
