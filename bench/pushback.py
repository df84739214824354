"""``python -m bench pushback``: CRM-side changes written back to the systems that own them.

In one run (worlds: :mod:`bench.pushworld`; measured work: :mod:`bench.pushwork`):

1. PostgreSQL target (the legacy ERP's files), PostgreSQL store: N phone and e-mail
   changes to distinct customers and some concessions go through the service into the
   outbox (submit rate), then one push-back run delivers them all (changes/s, peak
   memory); the ceiling is a bare psycopg loop writing the same rows, one transaction each.
2. The sample REST ERP (served by a child process on loopback), PostgreSQL store: the same
   for phone and e-mail changes, against a bare ``requests`` loop of one PATCH per change.
3. Latency on a schedule (PostgreSQL target): changes submitted at random times while
   ``crm-hub push`` runs every ``period`` seconds (:mod:`bench.pushlatency`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import jobs, pushworld, report
from bench.measure import PEAK_SNIPPET, Measurement, run_job
from bench.pushwork import plan_items

JOB = (
    PEAK_SNIPPET
    + """
import importlib
work = getattr(importlib.import_module($module), $function)
rows, seconds, extra = work(*$args)
_report(rows, seconds, **extra)
"""
)


def job(name: str, function: str, *args: Any, module: str = "bench.pushwork") -> Measurement:
    """Run one function of the benchmark's work in a child process of its own."""
    values = [str(a) if isinstance(a, Path) else a for a in args]
    return run_job(name, jobs.render(JOB, module=module, function=function, args=values))


def _delivered(push: Measurement, expected: int, landed: int) -> None:
    """Stop unless the run delivered every change, wrote each once, and the target has them."""
    e = push.extra
    if push.rows != expected or e["written"] != expected or e["conflicts"] or e["failed"]:
        raise SystemExit(f"{push.name}: {expected} changes, but the run says {e}")
    if landed != expected:
        raise SystemExit(f"{push.name}: the target holds {landed} of {expected} changes")


def _pg(
    work: Path, changes: int, concessions: int, spare: int, say: Any
) -> tuple[list[Measurement], pushworld.World]:
    say(f"PostgreSQL target: legacy ERP with {changes + concessions + spare:,}+ customers ...")
    world = pushworld.build_pg(work / "pg", changes + concessions + spare, changes + concessions)
    items = plan_items(world.customers, changes, concessions)
    plan = pushworld.save_plan(work / "pg-plan.json", {"items": items})
    submit = job("submit -> outbox (PG world)", "submit", world.config, plan)
    bulk_rate = submit.extra["bulk_changes"] / submit.extra["bulk_seconds"]
    say(f"  submit: {submit.rows_per_s:,.0f} changes/s ({bulk_rate:,.0f}/s in bulk)")
    push = job("crm-hub push-back -> PostgreSQL", "push", world.config)
    _delivered(push, len(items), pushworld.landed_pg(world.url, items))
    say(f"  push-back: {push.rows_per_s:,.0f} changes/s, {push.peak_mb:,.0f} MB")
    bare = job("psycopg loop, 1 write per txn", "pg_baseline", world.url, plan)
    say(f"  psycopg loop: {bare.rows_per_s:,.0f} writes/s")
    return [submit, push, bare], world


def _rest(work: Path, changes: int, say: Any) -> list[Measurement]:
    say(f"REST target: sample REST ERP with {changes:,}+ customers ...")
    db = work / "rest_erp.db"
    pushworld.generate_rest(db, changes)
    with pushworld.rest_server(db) as api:
        world = pushworld.build_rest(work / "rest", api, changes)
        items = plan_items(world.customers, changes, 0)
        plan = pushworld.save_plan(work / "rest-plan.json", {"items": items})
        submit = job("submit -> outbox (REST world)", "submit", world.config, plan)
        say(f"  submit: {submit.rows_per_s:,.0f} changes/s")
        push = job("crm-hub push-back -> REST ERP", "push", world.config)
        _delivered(push, len(items), pushworld.landed_rest(db, items))
        say(f"  push-back: {push.rows_per_s:,.0f} changes/s, {push.peak_mb:,.0f} MB")
        bare = job("requests PATCH loop -> REST ERP", "rest_baseline", api, plan)
        say(f"  requests loop: {bare.rows_per_s:,.0f} writes/s")
    return [submit, push, bare]


def _latency(
    work: Path,
    world: pushworld.World,
    offset: int,
    changes: int,
    period: float,
    cycles: int,
    say: Any,
) -> Measurement:
    say(f"latency: {changes} changes over {cycles} periods of {period:g} s ...")
    items = plan_items(world.customers, changes, 0, offset=offset)
    plan = pushworld.save_plan(work / "latency-plan.json", {"items": items})
    pushworld.install_write_log()
    latency = job(
        f"latency, push every {period:g} s",
        "measure",
        world.config,
        plan,
        world.url,
        period,
        cycles,
        module="bench.pushlatency",
    )
    say(f"  p50 {latency.extra['p50_s']} s, p99 {latency.extra['p99_s']} s")
    return latency


def _figures(
    changes: int,
    concessions: int,
    pg: list[Measurement],
    rest: list[Measurement] | None,
    latency: Measurement,
) -> dict[str, Any]:
    submit, push, bare = pg
    figures: dict[str, Any] = {
        "changes": changes,
        "concessions": concessions,
        "store": "postgresql",
        "pg_submit_changes_per_s": round(submit.rows_per_s, 1),
        "pg_push_changes_per_s": round(push.rows_per_s, 1),
        "pg_push_peak_mb": round(push.peak_mb),
        "pg_baseline_writes_per_s": round(bare.rows_per_s, 1),
        "pg_push_vs_baseline": round(push.rows_per_s / bare.rows_per_s, 3),
        # issue 24's figures: bulk submit into the outbox, delivery to PostgreSQL and the
        # bare loop of one write per transaction
        "submit_per_s": round(submit.extra["bulk_changes"] / submit.extra["bulk_seconds"], 1),
        "deliver_per_s": round(push.rows_per_s, 1),
        "bare_per_s": round(bare.rows_per_s, 1),
    }
    if rest:
        r_submit, r_push, r_bare = rest
        figures |= {
            "rest_changes": r_push.rows,
            "rest_submit_changes_per_s": round(r_submit.rows_per_s, 1),
            "rest_push_changes_per_s": round(r_push.rows_per_s, 1),
            "rest_push_peak_mb": round(r_push.peak_mb),
            "rest_baseline_writes_per_s": round(r_bare.rows_per_s, 1),
            "rest_push_vs_baseline": round(r_push.rows_per_s / r_bare.rows_per_s, 3),
        }
    e = latency.extra
    figures |= {
        "latency_changes": latency.rows,
        "latency_period_s": e["period_s"],
        "latency_p50_s": e["p50_s"],
        "latency_p99_s": e["p99_s"],
        "latency_mean_s": e["mean_s"],
        "latency_max_s": e["max_s"],
        "latency_run_mean_s": e["run_mean_s"],
    }
    return figures


def chart(name: str, measured: list[Measurement], latency: Measurement) -> Path:
    """Changes/s of every job beside the latency distribution against the schedule's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), width_ratios=[1.3, 1])
    names = [m.name for m in measured][::-1]
    speeds = [m.rows_per_s for m in measured][::-1]
    colors = ["#3b7dd8" if n.startswith("crm-hub") else "#9aa5b1" for n in names]
    bars = left.barh(names, speeds, color=colors)
    for bar, m in zip(bars, measured[::-1], strict=True):
        left.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f" {m.rows_per_s:,.0f}/s, {m.peak_mb:,.0f} MB",
            va="center",
            fontsize=8,
        )
    left.set_xlim(0, max(speeds) * 1.45)
    left.set_xlabel("changes (writes) per second, higher is better")
    left.set_title("throughput")
    period = latency.extra["period_s"]
    ranked = sorted(latency.extra["latencies_s"])
    share = [(i + 1) / len(ranked) for i in range(len(ranked))]
    right.step(ranked, share, where="post", label="measured")
    right.plot([0, period], [0, 1], linestyle="--", color="#9aa5b1", label="wait for the tick")
    for p in ("p50_s", "p99_s"):
        right.axvline(latency.extra[p], color="#d88a3b", linewidth=0.8)
        right.text(latency.extra[p], 0.02, f" {p[:3]} {latency.extra[p]:.1f}s", fontsize=8)
    right.set_xlabel("seconds from the change to its write in the target")
    right.set_ylabel("share of changes")
    right.set_title(f"latency, push-back every {period:g} s")
    right.legend(fontsize=8, loc="upper left")
    right.grid(alpha=0.3)
    fig.tight_layout()
    report.RESULTS.mkdir(exist_ok=True)
    path = report.RESULTS / f"{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(
    changes: int,
    *,
    concessions: int,
    rest: bool = True,
    latency_changes: int = 300,
    period: float = 60.0,
    cycles: int = 5,
    as_json: bool = False,
) -> dict[str, Any]:
    """Run the push-back benchmark; print, save and plot the results."""
    say = print if not as_json else (lambda *a, **k: print(*a, **k, file=sys.stderr))
    load = [round(os.getloadavg()[1], 2)]
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-push-") as tmp:
        work = Path(tmp)
        pg, world = _pg(work, changes, concessions, latency_changes, say)
        rest_jobs = _rest(work, changes, say) if rest else None
        offset = changes + concessions
        latency = _latency(work, world, offset, latency_changes, period, cycles, say)
    load.append(round(os.getloadavg()[1], 2))
    measured = pg + (rest_jobs or [])
    figures = _figures(changes, concessions, pg, rest_jobs, latency)
    say("")
    say(report.table("push-back, PostgreSQL target", pg, baseline=pg[2], unit="changes"))
    if rest_jobs:
        say("")
        say(report.table("push-back, REST target", rest_jobs, rest_jobs[2], unit="changes"))
    e = latency.extra
    say("")
    say(
        f"latency, push every {period:g} s, {latency.rows} changes: p50 {e['p50_s']} s, "
        f"p90 {e['p90_s']} s, p99 {e['p99_s']} s, mean {e['mean_s']} s (period/2 = "
        f"{period / 2:g} s), max {e['max_s']} s; a run took {e['run_mean_s']} s on average"
    )
    result = {
        "benchmark": "pushback",
        "machine": report.machine(),
        "figures": figures,
        "measurements": [asdict(m) for m in measured],
        "latency": asdict(latency),
        # the 5-minute load average before and after: the machine may be shared
        "load_average": load,
    }
    saved = report.save(f"pushback-{changes}", result)
    plot = chart(f"pushback-{changes}", measured, latency)
    say(f"results: {saved}, plot: {plot}")
    if as_json:
        print(json.dumps(figures))
    return result
