"""``crm-hub push`` killed with SIGKILL at random moments, then pushed to completion.

The legacy ERP on PostgreSQL, pulled and reconciled into a PostgreSQL store
(:func:`bench.pushworld.build_pg`), gets a trigger logging every update of its customer
file. M phone and e-mail changes, each to another customer, are submitted; then ``crm-hub
push`` runs as a child process and is killed with SIGKILL once the target has taken a
random number of further writes, T times; then it runs until nothing is due. Every change
must have been written exactly once: *written twice* counts changes whose customer record
was updated more than once, *lost* the changes not delivered or not in the target.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench import pgdata, pushwork, pushworld
from bench.killpull import CRM_HUB, DEADLINE

ERP_DB = "crmhub_bench_kills_erp"
STORE_DB = "crmhub_bench_kills_push_store"
#: Pushes after the trials, at most, to drain what is due.
FINAL_PUSHES = 5


@dataclass
class PushTrial:
    """One killed push: the writes the target had before and when it was killed."""

    trial: int
    writes_before: int
    #: writes at the kill (None: the push ended before it)
    writes_at_kill: int | None
    #: whether ``status --json`` showed the killed push run as interrupted (None: no run)
    interrupted: bool | None


@dataclass
class PushOutcome:
    """The trials and the final count."""

    changes: int
    trials: list[PushTrial]
    final_pushes: int
    delivered: int
    written_once: int
    written_twice: int
    lost: int
    states: dict[str, int]


def _writes(conn: psycopg.Connection[Any]) -> int:
    return int((conn.execute("SELECT count(*) FROM bench_writes").fetchone() or (0,))[0])


def _push_run(store_url: str, pid: int) -> int | None:
    with psycopg.connect(store_url) as conn:
        row = conn.execute(
            "SELECT max(id) FROM hub_runs WHERE pid = %s AND stream = 'push_back'", (pid,)
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _shown_interrupted(config: Path, run_id: int) -> bool:
    shown = subprocess.run(
        [CRM_HUB, "--config", str(config), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    rows = [r for r in json.loads(shown.stdout or "[]") if r["run_id"] == run_id]
    return bool(rows) and rows[0]["status"] == "interrupted"


def push_and_kill(
    number: int, config: Path, erp_url: str, store_url: str, target: int
) -> PushTrial:
    """Start ``crm-hub push``; SIGKILL it once the target holds ``target`` writes."""
    with psycopg.connect(erp_url, autocommit=True) as conn:
        before = at_kill = _writes(conn)
        proc = subprocess.Popen(
            [CRM_HUB, "--config", str(config), "push"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        killed = False
        try:
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline and proc.poll() is None:
                if _writes(conn) >= target:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.005)
        finally:
            if proc.poll() is None and not killed:
                proc.kill()
            proc.wait()
        at_kill = _writes(conn)
    run_id = _push_run(store_url, proc.pid) if killed else None
    interrupted = _shown_interrupted(config, run_id) if run_id is not None else None
    return PushTrial(number, before, at_kill if killed else None, interrupted)


def _final(config: Path) -> int:
    """Push until nothing is due; return how many pushes that took."""
    for n in range(1, FINAL_PUSHES + 1):
        done = subprocess.run(
            [CRM_HUB, "--config", str(config), "push", "--json"],
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )
        if done.returncode not in (0, 1):
            raise SystemExit(f"crm-hub push failed: {done.stderr[-3000:]}")
        if json.loads(done.stdout)["changes"] == 0:
            return n
    return FINAL_PUSHES


def count(
    erp_url: str, store_url: str, items: list[dict[str, Any]]
) -> tuple[int, int, int, int, dict[str, int]]:
    """Changes delivered, written once, written more than once, lost (not delivered or
    not in the target), and the outbox's changes by state."""
    keys = [i["key"].strip() for i in items]
    with psycopg.connect(erp_url) as conn:
        writes = dict(
            conn.execute("SELECT rtrim(ccust), count(*) FROM bench_writes GROUP BY 1").fetchall()
        )
        landed = {
            key
            for (key,) in conn.execute(
                """
                SELECT p.k FROM "RCM" r
                JOIN unnest(%s::text[], %s::text[]) AS p(k, v) ON rtrim(r."CCUST") = p.k
                 AND (rtrim(r."CPHON") = p.v OR rtrim(r."CEMAIL") = p.v)
                """,
                (keys, [i["value"] for i in items]),
            )
        }
    with psycopg.connect(store_url) as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM hub_outbox GROUP BY 1").fetchall())
        delivered_ids = {
            golden
            for (golden,) in conn.execute(
                "SELECT golden_id FROM hub_outbox WHERE state = 'delivered'"
            )
        }
    once = sum(writes.get(k, 0) == 1 for k in keys)
    twice = sum(writes.get(k, 0) > 1 for k in keys)
    lost = sum(
        key not in landed or item["golden"] not in delivered_ids
        for key, item in zip(keys, items, strict=True)
    )
    delivered = sum(item["golden"] in delivered_ids for item in items)
    return delivered, once, twice, lost, {str(s): int(n) for s, n in states.items()}


def run(changes: int, trials: int, rng: random.Random, work: Path, say: Any) -> PushOutcome:
    """Build the world, submit the changes, kill ``trials`` pushes, push to the end, count."""
    customers = changes + max(100, changes // 10)
    say(f"push: legacy ERP on PostgreSQL with {customers:,}+ customers, {changes:,} changes ...")
    world = pushworld.build_pg(work / "push", customers, changes, erp_db=ERP_DB, store_db=STORE_DB)
    pushworld.install_write_log(ERP_DB)
    items = pushwork.plan_items(world.customers, changes, 0)
    plan = pushworld.save_plan(work / "kills-plan.json", {"items": items})
    pushwork.submit(str(world.config), str(plan))
    store_url = pgdata.url(STORE_DB)
    done: list[PushTrial] = []
    for number in range(trials):
        with psycopg.connect(world.url) as conn:
            written = _writes(conn)
        step = max(1, round((changes - written) * rng.uniform(0.1, 1.9) / (trials - number + 1)))
        done.append(push_and_kill(number, world.config, world.url, store_url, written + step))
        t = done[-1]
        say(
            f"  push trial {number}: "
            + (
                f"killed at {t.writes_at_kill:,} writes"
                if t.writes_at_kill is not None
                else "ended before the kill"
            )
            + f" (from {t.writes_before:,}), interrupted shown: {t.interrupted}"
        )
    pushes = _final(world.config)
    delivered, once, twice, lost, states = count(world.url, store_url, items)
    say(
        f"  after {pushes} more push(es): {delivered:,} delivered, {once:,} written once, "
        f"{twice} written twice, {lost} lost; outbox {states}"
    )
    return PushOutcome(changes, done, pushes, delivered, once, twice, lost, states)
