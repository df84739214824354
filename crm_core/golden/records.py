"""Golden records in the store: rebuilt from their source records by the survivorship
rules, written only where something changed, each field's lineage beside it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, bindparam, select, update

from crm_core.golden import phone_index
from crm_core.golden.store_io import active_pins, chunks, linked_goldens, read_members
from crm_core.golden.survivorship import LINEAGE_SCHEMA, golden_values, survive
from crm_core.store.tables import golden_customers, golden_lineage, golden_phones
from schemas.reconcile import DEFAULT_PHONE_REGION, GOLDEN_FIELDS, Survivorship

_SUPPLIER = ("value", "rule", "source", "stream", "source_key", "run_id")


@dataclass
class Rebuilt:
    """How many golden records a rebuild created, changed and retired."""

    created: int = 0
    updated: int = 0
    lineage_changed: int = 0
    retired: int = 0


def rebuild(
    conn: Connection,
    golden_ids: Iterable[str] | None,
    rules: Survivorship,
    *,
    run_id: int | None,
    now: datetime,
    phone_region: str = DEFAULT_PHONE_REGION,
) -> Rebuilt:
    """Recompute the golden records ``golden_ids`` (None: every one with linked records)
    from the records linked to them, and their entries in the phone index (numbers
    without a country code read in ``phone_region`` unless their record has a country).

    Golden ids without linked records are left as they are; one whose every linked
    record is deleted in its source is retired (its values and id kept), and one with a
    live record again stands again. ``run_id`` is the reconcile run deciding (None for a
    steward's action).
    """
    ids = None if golden_ids is None else sorted(set(golden_ids))
    out = Rebuilt()
    if ids is not None and not ids:
        return out
    members = read_members(conn, ids)
    _retire(conn, linked_goldens(conn, ids), set(members["golden_id"]), now, out)
    if members.is_empty():
        return out
    members = members.with_columns(changed_at=pl.coalesce("updated_at", "loaded_at"))
    previous = read_lineage(conn, ids)
    wanted = set(members["golden_id"])
    pins = {k: v for k, v in active_pins(conn).items() if k[0] in wanted}
    lineage = survive(members, rules, pins=pins, previous=previous)
    values = golden_values(lineage)
    _write_goldens(conn, values, now, out)
    _write_lineage(conn, lineage, previous, run_id, now, out)
    phones: list[phone_index.Entry] = [
        (g, f.get("phone"), f.get("country")) for g, f in values.items()
    ]
    phones += list(members.select("golden_id", "phone", "country").iter_rows())
    phone_index.replace(conn, None if ids is None else sorted(wanted), phones, phone_region)
    return out


def _retire(
    conn: Connection, linked: set[str], live: set[str], now: datetime, out: Rebuilt
) -> None:
    """Retire the golden customers with linked records none of which is live; stand the
    live ones again."""
    g = golden_customers
    for part in chunks(sorted(linked - live)):
        out.retired += (
            conn.execute(
                update(g)
                .where(g.c.golden_id.in_(part), g.c.retired_at.is_(None))
                .values(retired_at=now, updated_at=now)
            ).rowcount
            or 0
        )
    for part in chunks(sorted(live)):
        conn.execute(
            update(g)
            .where(g.c.golden_id.in_(part), g.c.retired_at.is_not(None))
            .values(retired_at=None, updated_at=now)
        )


def read_lineage(conn: Connection, golden_ids: Sequence[str] | None) -> pl.DataFrame:
    """The lineage rows of ``golden_ids`` (None: all)."""
    cols = [golden_lineage.c[c] for c in LINEAGE_SCHEMA]
    if golden_ids is None:
        rows: list[Any] = list(conn.execute(select(*cols)))
    else:
        rows = []
        for part in chunks(list(golden_ids)):
            rows.extend(conn.execute(select(*cols).where(golden_lineage.c.golden_id.in_(part))))
    return pl.DataFrame([tuple(r) for r in rows], schema=LINEAGE_SCHEMA, orient="row")


def _write_goldens(
    conn: Connection, values: dict[str, dict[str, str | None]], now: datetime, out: Rebuilt
) -> None:
    existing: dict[str, dict[str, Any]] = {}
    cols = [golden_customers.c.golden_id, *(golden_customers.c[f] for f in GOLDEN_FIELDS)]
    for part in chunks(list(values)):
        for stored in conn.execute(select(*cols).where(golden_customers.c.golden_id.in_(part))):
            existing[stored.golden_id] = dict(stored._mapping)
    inserts, updates = [], []
    for golden_id, fields in values.items():
        row = {f: fields.get(f) for f in GOLDEN_FIELDS}
        row["name"] = row["name"] or ""
        before = existing.get(golden_id)
        if before is None:
            inserts.append({**row, "golden_id": golden_id, "created_at": now, "updated_at": now})
        elif any(before[f] != row[f] for f in GOLDEN_FIELDS):
            updates.append({**{f"v_{f}": row[f] for f in GOLDEN_FIELDS}, "b_id": golden_id})
    if inserts:
        conn.execute(golden_customers.insert(), inserts)
    if updates:
        stmt = (
            update(golden_customers)
            .where(golden_customers.c.golden_id == bindparam("b_id"))
            .values(updated_at=now, **{f: bindparam(f"v_{f}") for f in GOLDEN_FIELDS})
        )
        conn.execute(stmt, updates)
    out.created += len(inserts)
    out.updated += len(updates)


def _write_lineage(
    conn: Connection,
    lineage: pl.DataFrame,
    previous: pl.DataFrame,
    run_id: int | None,
    now: datetime,
    out: Rebuilt,
) -> None:
    """Replace the lineage rows whose value or supplier changed; keep the others (and
    when they were decided)."""
    keys = ["golden_id", "field"]
    joined = lineage.join(
        previous.with_columns(known=pl.lit(True)), on=keys, how="left", suffix="_before"
    )
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_before")) for c in _SUPPLIER])
    changed_frame = joined.filter(differs | pl.col("known").is_null())
    if changed_frame.is_empty():
        return
    changed = changed_frame.select(LINEAGE_SCHEMA.keys()).to_dicts()
    stale = [
        {"b_id": r["golden_id"], "b_field": r["field"]}
        for r in changed_frame.filter(pl.col("known")).select(keys).to_dicts()
    ]
    if stale:
        conn.execute(
            golden_lineage.delete().where(
                golden_lineage.c.golden_id == bindparam("b_id"),
                golden_lineage.c.field == bindparam("b_field"),
            ),
            stale,
        )
    conn.execute(
        golden_lineage.insert(),
        [{**r, "reconcile_run_id": run_id, "decided_at": now} for r in changed],
    )
    out.lineage_changed += len(changed)


def mark_merged(conn: Connection, merged: dict[str, str | None], now: datetime) -> None:
    """Record golden customers as merged into others (None: standing on its own again).

    A merged golden record keeps its last values and their lineage, as history; it
    leaves the phone index (the one it was merged into is found instead)."""
    if not merged:
        return
    gone = [k for k, v in merged.items() if v is not None]
    for part in chunks(gone):
        conn.execute(golden_phones.delete().where(golden_phones.c.golden_id.in_(part)))
    stmt = (
        update(golden_customers)
        .where(golden_customers.c.golden_id == bindparam("b_id"))
        .values(merged_into=bindparam("b_into"), updated_at=now)
    )
    conn.execute(stmt, [{"b_id": k, "b_into": v} for k, v in merged.items()])
