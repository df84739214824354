"""What the pulls changed in the store since the last reconcile, taken from the run ledger.

The bookkeeping of reconcile runs (:mod:`crm_core.golden.reconcile` does the work): each
reconcile run is a ledger row whose watermark is the time it took stock at, and it counts
the rows that runs finished since the previous one loaded, per source and stream. The
windows of consecutive reconciles meet without overlap, so a finished run is counted once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from crm_core.ledger.names import HUB_SOURCE, RECONCILE
from crm_core.ledger.runs import RUNNING, SUCCESS, RunCounts, finish_run, record_progress, start_run
from crm_core.pull import positions
from crm_core.store.tables import runs


def _previous_cutoff(store: Engine, before_id: int) -> datetime | None:
    with store.connect() as conn:
        mark = conn.execute(
            select(runs.c.watermark)
            .where(
                runs.c.source == HUB_SOURCE,
                runs.c.stream == RECONCILE,
                runs.c.status == SUCCESS,
                runs.c.id < before_id,
            )
            .order_by(runs.c.id.desc())
            .limit(1)
        ).scalar()
    decoded = positions.decode(mark)
    return decoded[0] if decoded else None


def take_stock(store: Engine) -> dict[str, Any]:
    """Record a reconcile run and return the rows changed since the previous one."""
    run_id = start_run(store, HUB_SOURCE, RECONCILE, "", RECONCILE)
    counts = RunCounts()
    try:
        result = count_changes(store, run_id, counts)
    except Exception as exc:
        finish_run(store, run_id, counts, f"{type(exc).__name__}: {exc}")
        raise
    finish_run(store, run_id, counts)
    return result


def count_changes(store: Engine, run_id: int, counts: RunCounts) -> dict[str, Any]:
    """For the open reconcile run ``run_id``: count the rows changed since the previous
    one into ``counts`` and store the run's watermark (the time it took stock at)."""
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
            runs.c.status != RUNNING,
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
        record_progress(conn, run_id, counts, positions.encode([cutoff]))
    return {
        "run_id": run_id,
        "since": since.isoformat() if since else None,
        "until": cutoff.isoformat(),
        "runs": sum(int(r[2]) for r in rows),
        "rows_changed": counts.rows_read,
        "rows_quarantined": counts.rows_quarantined,
        "streams": streams,
    }
