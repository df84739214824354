"""The push-back benchmark's measured work, each run in a child process of its own (see
:mod:`bench.measure`): submitting changes through the service, one push-back run, and the
bare loops that write the same values one per transaction (PostgreSQL) or request (REST).

Each function times only its own loop and returns ``(rows, seconds, extra)``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

#: The change each plan item makes, by kind.
CONCESSION = {
    "kind": "percent",
    "percent": "5",
    "reason": "年度框架协议返利 (bench)",
    "approver": "王建国",
    "valid_from": "2026-12-01",
    "valid_to": "2027-11-30",
}
#: Model fields of the plan as the legacy ERP's columns (for the bare loop).
LEGACY_COLUMNS = {"phone": "CPHON", "email": "CEMAIL"}
LEGACY_ZONE = ZoneInfo("Asia/Shanghai")

Result = tuple[int, float, dict[str, Any]]


def load_plan(path: str) -> dict[str, Any]:
    """A plan written by :func:`bench.pushworld.save_plan`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def submit(config_path: str, plan_path: str) -> Result:
    """Submit the plan's changes through the service: the field changes in bulk requests of
    up to 10,000 (as ``crm-hub change customer --from-csv`` and ``POST /changes:batch``
    do), the concessions one request each; ``extra`` has the bulk part's own time."""
    from crm_core.pushback import bulk
    from crm_core.pushback import submit as service
    from crm_core.store.db import open_store
    from schemas.settings import load_config

    config = load_config(Path(config_path))
    store = open_store(config.store_url())
    items = load_plan(plan_path)["items"]
    fields = [
        bulk.FieldChange(
            golden_id=item["golden"],
            values={item["kind"]: item["value"]},
            idempotency_key=f"bench-{item['golden']}-{item['kind']}",
        )
        for item in items
        if item["kind"] != "concession"
    ]
    started = time.perf_counter()
    refused = 0
    for i in range(0, len(fields), bulk.MAX_BATCH):
        outcomes = bulk.submit_batch(store, config, fields[i : i + bulk.MAX_BATCH], "bench.sales")
        refused += sum(1 for o in outcomes if o.error is not None)
    bulk_seconds = time.perf_counter() - started
    if refused:
        raise SystemExit(f"bulk submit refused {refused} of {len(fields)} changes")
    for item in items:
        if item["kind"] == "concession":
            service.record_concession(
                store,
                config,
                golden_id=item["golden"],
                concession={"concession_id": item["value"], **CONCESSION},
                who="bench.sales",
                idempotency_key=f"bench-{item['value']}",
            )
    seconds = time.perf_counter() - started
    store.dispose()
    return len(items), seconds, {"bulk_changes": len(fields), "bulk_seconds": bulk_seconds}


def push(config_path: str) -> Result:
    """One push-back run over everything due, as ``crm-hub push`` runs it."""
    from crm_core.pushback.deliver import PushBack
    from crm_core.store.db import open_store
    from schemas.settings import load_config

    config = load_config(Path(config_path))
    store = open_store(config.store_url())
    started = time.perf_counter()
    result = PushBack(config, store).run()
    seconds = time.perf_counter() - started
    store.dispose()
    extra = {k: v for k, v in result.as_dict().items() if k not in ("run_id", "errors")}
    extra["errors"] = result.errors[:5]
    return result.delivered, seconds, extra


def _stamp() -> tuple[int, int]:
    now = datetime.now(LEGACY_ZONE)
    return now.year * 10_000 + now.month * 100 + now.day, (
        now.hour * 10_000 + now.minute * 100 + now.second
    )


def pg_baseline(url: str, plan_path: str) -> Result:
    """The same writes with a bare psycopg loop, one transaction each: an UPDATE of the
    customer file (value and change stamp), or an INSERT of the concession's row."""
    import psycopg
    from psycopg import sql

    items = load_plan(plan_path)["items"]
    with psycopg.connect(url) as conn:
        refs = [i["value"] for i in items if i["kind"] == "concession"]
        booked = conn.execute('SELECT * FROM "RCN" WHERE "NREF" = ANY(%s)', (refs,))
        columns = [d.name for d in booked.description or []]
        ref = columns.index("NREF")
        rows = {r[ref].strip(): list(r) for r in booked.fetchall()}
        conn.commit()
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier("RCN"),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        )
        updates = {
            field: sql.SQL(
                'UPDATE "RCM" SET {} = %s, "CCHGD" = %s, "CCHGT" = %s WHERE "CCUST" = %s'
            ).format(sql.Identifier(column))
            for field, column in LEGACY_COLUMNS.items()
        }
        started = time.perf_counter()
        for item in items:
            if item["kind"] == "concession":
                row = rows[item["value"]].copy()
                row[ref] = f"B{item['value'][1:]}"
                conn.execute(insert, row)
            else:
                day, clock = _stamp()
                conn.execute(updates[item["kind"]], (item["baseline"], day, clock, item["key"]))
            conn.commit()
        seconds = time.perf_counter() - started
    return len(items), seconds, {"concessions": len(refs)}


def rest_baseline(api_url: str, plan_path: str) -> Result:
    """The same writes with a bare ``requests`` loop: one PATCH per change with an
    ``Idempotency-Key``, on one kept-alive connection."""
    import requests

    items = load_plan(plan_path)["items"]
    session = requests.Session()
    started = time.perf_counter()
    for n, item in enumerate(items):
        answer = session.patch(
            f"{api_url}/customers/{quote(item['key'], safe='')}",
            json={item["kind"]: item["baseline"]},
            headers={"Idempotency-Key": f"bench-baseline-{n}"},
            timeout=30,
        )
        answer.raise_for_status()
    seconds = time.perf_counter() - started
    session.close()
    return len(items), seconds, {}


def plan_items(
    customers: list[tuple[str, str]], changes: int, concessions: int, offset: int = 0
) -> list[dict[str, Any]]:
    """``changes`` phone and e-mail changes (alternating) and ``concessions`` concessions,
    each for another customer, the concessions spread among the other changes."""
    total = changes + concessions
    if len(customers) < offset + total:
        raise SystemExit(
            f"{len(customers) - offset} customers for {total} changes: generate more customers"
        )
    every = total // concessions if concessions else 0
    items = []
    made = booked = 0
    for n, (golden, key) in enumerate(customers[offset : offset + total]):
        if concessions and booked < concessions and (n + 1) % every == 0:
            booked += 1
            ref = f"C{offset + n:07d}-BENCH"
            items.append({"kind": "concession", "golden": golden, "key": key, "value": ref})
            continue
        made += 1
        serial = offset + n
        kind = "phone" if made % 2 else "email"
        value, baseline = (
            (f"+86 21 6{serial:07d}", f"+86 21 7{serial:07d}")
            if kind == "phone"
            else (f"bench.{serial}@example.cn", f"base.{serial}@example.cn")
        )
        items.append(
            {"kind": kind, "golden": golden, "key": key, "value": value, "baseline": baseline}
        )
    return items
