"""The added latency from a CRM-side change to its write in the target, with push-back run
on a fixed schedule, measured in real time.

Changes are submitted through the service at random times (uniform over ``cycles``
schedule periods); a scheduler runs ``crm-hub push`` as a child process at every period's
end, as cron or an Airflow task would (process start, config and store included). The
write time is the target's own: a trigger on the legacy ERP's customer file logs every
update with the database clock (see :data:`bench.pushworld.WRITE_LOG`). Latency is that
time minus the change's submit time in the outbox. It is the wait for the next run
(uniform over the period: period/2 on average) plus the run's own time to reach the change.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.pushwork import Result, load_plan

#: The seed of the submit times.
SEED = 11


def _crm_hub() -> str:
    return str(Path(sys.executable).with_name("crm-hub"))


class Scheduler(threading.Thread):
    """Runs ``crm-hub push`` at ``start + k * period`` until every change is delivered and
    at least ``cycles`` periods have passed (a late run starts as soon as the previous one
    ends, as a scheduler allowing one active run does)."""

    def __init__(self, config: str, start: float, period: float, cycles: int, expect: int):
        super().__init__(daemon=True)
        self.config, self.start_at, self.period = config, start, period
        self.cycles, self.expect = cycles, expect
        self.runs: list[dict[str, Any]] = []
        self.error: str | None = None

    def run(self) -> None:
        delivered, tick = 0, 0
        while tick < self.cycles or delivered < self.expect:
            tick += 1
            if tick > self.cycles + 3:
                self.error = f"{self.expect - delivered} changes not delivered after {tick} runs"
                return
            wait = self.start_at + tick * self.period - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            began = time.monotonic()
            proc = subprocess.run(
                [_crm_hub(), "--config", self.config, "push", "--json"],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                self.error = f"crm-hub push failed ({proc.returncode}): {proc.stderr[-2000:]}"
                return
            outcome = json.loads(proc.stdout)
            delivered += outcome["delivered"]
            self.runs.append(
                {
                    "tick_s": round(tick * self.period, 3),
                    "late_s": round(began - (self.start_at + tick * self.period), 3),
                    "seconds": round(time.monotonic() - began, 3),
                    "delivered": outcome["delivered"],
                }
            )


def _written_at(url: str, items: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """When the target took each (customer key, value), by its write log."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT rtrim(ccust), rtrim(phone), rtrim(email), at FROM bench_writes"
        ).fetchall()
    keys = {(i["key"].strip(), i["value"]) for i in items}
    out: dict[tuple[str, str], Any] = {}
    for key, phone, email, at in rows:
        for value in (phone, email):
            if (key, value) in keys:
                out.setdefault((key, value), at)
    return out


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100), interpolated between the nearest ranks."""
    ranked = sorted(values)
    pos = (len(ranked) - 1) * p / 100
    low = int(pos)
    high = min(low + 1, len(ranked) - 1)
    return ranked[low] + (ranked[high] - ranked[low]) * (pos - low)


def measure(config_path: str, plan_path: str, url: str, period: float, cycles: int) -> Result:
    """Submit the plan's changes at random times over ``cycles`` periods with push-back on
    a ``period`` schedule; the latencies of their writes in the target."""
    from crm_core.pushback import submit as service
    from crm_core.store.db import open_store
    from schemas.settings import load_config

    config = load_config(Path(config_path))
    store = open_store(config.store_url())
    items = load_plan(plan_path)["items"]
    rng = random.Random(SEED)
    offsets = sorted(rng.uniform(0, period * cycles) for _ in items)
    start = time.monotonic()
    scheduler = Scheduler(config_path, start, period, cycles, len(items))
    scheduler.start()
    submitted = []
    for offset, item in zip(offsets, items, strict=True):
        wait = start + offset - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        view = service.change_fields(
            store,
            config,
            entity="customers",
            golden_id=item["golden"],
            values={item["kind"]: item["value"]},
            who="bench.sales",
        )
        submitted.append(view.created_at)
    scheduler.join()
    seconds = time.monotonic() - start
    store.dispose()
    if scheduler.error:
        raise SystemExit(scheduler.error)
    written = _written_at(url, items)
    missing = [i["key"] for i in items if (i["key"].strip(), i["value"]) not in written]
    if missing:
        raise SystemExit(f"{len(missing)} changes never reached the target: {missing[:5]}")
    latencies = [
        (written[(i["key"].strip(), i["value"])] - at).total_seconds()
        for i, at in zip(items, submitted, strict=True)
    ]
    run_seconds = [r["seconds"] for r in scheduler.runs]
    return (
        len(items),
        seconds,
        {
            "period_s": period,
            "cycles": cycles,
            "p50_s": round(percentile(latencies, 50), 3),
            "p90_s": round(percentile(latencies, 90), 3),
            "p99_s": round(percentile(latencies, 99), 3),
            "mean_s": round(statistics.fmean(latencies), 3),
            "min_s": round(min(latencies), 3),
            "max_s": round(max(latencies), 3),
            "run_mean_s": round(statistics.fmean(run_seconds), 3),
            "runs": scheduler.runs,
            "latencies_s": [round(x, 3) for x in latencies],
        },
    )
