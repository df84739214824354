"""What the pulls changed in the store since the last reconcile, taken from the run ledger.

The bookkeeping of reconcile runs (:mod:`crm_core.golden.reconcile` does the work): each
reconcile run is a ledger row that takes stock at the time it started (its cutoff), and it
counts the rows that runs finished since the previous successful one's cutoff loaded, per
source and stream. The windows of consecutive reconciles meet without overlap, so a
finished run is counted once. The ledger's ``watermark`` column is the pulls' own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select

from crm_core.ledger.names import HUB_SOURCE, RECONCILE
from crm_core.ledger.runs import REFUSED, RUNNING, SUCCESS, RunCounts, record_progress
from crm_core.store.tables import runs


def previous_reconcile(conn: Connection, before_id: int) -> Row[int, datetime, Any] | None:
    """The ledger row (``id``, ``started_at``, its cutoff, and ``checks``) of the last
    successful reconcile run before ``before_id``; None when none ran."""
    return conn.execute(
        select(runs.c.id, runs.c.started_at, runs.c.checks)
        .where(
            runs.c.source == HUB_SOURCE,
            runs.c.stream == RECONCILE,
            runs.c.status == SUCCESS,
            runs.c.id < before_id,
        )
        .order_by(runs.c.id.desc())
        .limit(1)
    ).first()


def _previous_cutoff(store: Engine, before_id: int) -> datetime | None:
    """The cutoff (start) of the last successful reconcile run before ``before_id``."""
    with store.connect() as conn:
        previous = previous_reconcile(conn, before_id)
    return previous.started_at if previous is not None else None


def count_changes(store: Engine, run_id: int, counts: RunCounts) -> dict[str, Any]:
    """For the open reconcile run ``run_id``: count the rows changed since the previous
    one (up to the run's cutoff, the time it started) into ``counts`` and store them."""
    with store.connect() as conn:
        cutoff = conn.execute(select(runs.c.started_at).where(runs.c.id == run_id)).scalar_one()
    since = _previous_cutoff(store, run_id)
    stmt = (
        select(
            runs.c.source,
            runs.c.stream,
            func.count(),
            func.sum(runs.c.rows_loaded),
            func.sum(runs.c.rows_quarantined),
        )
        .where(
            runs.c.source != HUB_SOURCE,
            runs.c.status.not_in((RUNNING, REFUSED)),
            runs.c.finished_at <= cutoff,
        )
        .group_by(runs.c.source, runs.c.stream)
        .order_by(runs.c.source, runs.c.stream)
    )
    if since is not None:
        stmt = stmt.where(runs.c.finished_at > since)
    with store.connect() as conn:
        rows = conn.execute(stmt).all()
    streams = {f"{r[0]}.{r[1]}": int(r[3] or 0) for r in rows}
    counts.rows_read = sum(streams.values())
    counts.rows_quarantined = sum(int(r[4] or 0) for r in rows)
    with store.begin() as conn:
        record_progress(conn, run_id, counts, None)
    return {
        "run_id": run_id,
        "since": since.isoformat() if since else None,
        "until": cutoff.isoformat(),
        "runs": sum(int(r[2]) for r in rows),
        "rows_changed": counts.rows_read,
        "rows_quarantined": counts.rows_quarantined,
        "streams": streams,
    }
