"""Helpers for golden-record tests: put source records into a store as a sync would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from crm_core.ledger.runs import RunCounts, finish_run, start_run
from crm_core.pull.load import upsert_frame
from crm_core.store.tables import RECORD_TABLES, golden_customers, source_links

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def load(store: Engine, source: str, entity: str, rows: list[dict[str, Any]]) -> int:
    """Load ``rows`` of ``entity`` for ``source`` in a run of its own; return the run id."""
    table = RECORD_TABLES[entity]
    columns = [c.name for c in table.columns if c.name not in ("source", "run_id", "loaded_at")]
    frame = pl.DataFrame([{c: row.get(c) for c in columns} for row in rows])
    run_id = start_run(store, source, entity, entity, "incremental")
    with store.begin() as conn:
        upsert_frame(conn, entity, frame, source, run_id)
    finish_run(store, run_id, RunCounts(rows_read=len(rows), rows_loaded=len(rows)))
    return run_id


def customer(key: str, name: str, **fields: Any) -> dict[str, Any]:
    """A customer record; ``updated_at`` defaults to T0."""
    return {"customer_id": key, "name": name, "updated_at": T0, **fields}


def golden_ids(store: Engine) -> dict[tuple[str, str], str]:
    """(source, key) -> golden id of every linked record."""
    with store.connect() as conn:
        rows = conn.execute(
            select(source_links.c.source, source_links.c.source_key, source_links.c.golden_id)
        )
        return {(r[0], r[1]): r[2] for r in rows}


def golden(store: Engine, golden_id: str) -> dict[str, Any]:
    """One golden_customers row."""
    with store.connect() as conn:
        row = conn.execute(
            select(golden_customers).where(golden_customers.c.golden_id == golden_id)
        ).one()
    return dict(row._mapping)
