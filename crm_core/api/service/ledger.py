"""What ops read through the API: the run ledger and the quarantine, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Row, Table, func, select

from crm_core.api.service.lookup import NotFound
from crm_core.api.service.views import Page, QuarantineRow, RunDetail, RunView
from crm_core.ledger import health
from crm_core.store.tables import quarantine, runs


def _newest_first(
    store: Engine, table: Table, filters: dict[str, str | None], limit: int, offset: int
) -> tuple[int, Sequence[Row[Any]]]:
    """How many rows of ``table`` match ``filters`` (column -> value; an empty value does
    not filter) and one page of them, newest (highest id) first."""
    stmt = select(table)
    for column, value in filters.items():
        if value:
            stmt = stmt.where(table.c[column] == value)
    with store.connect() as conn:
        total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar() or 0
        rows = conn.execute(stmt.order_by(table.c.id.desc()).limit(limit).offset(offset)).all()
    return int(total), rows


def _run(row: dict[str, Any]) -> dict[str, Any]:
    data = health.run_json(row)
    data.pop("checks", None)  # in the run's detail only
    data["watermark"] = data["watermark"] if data["watermark"] not in ("", "-") else None
    return data


def list_runs(
    store: Engine,
    *,
    source: str | None = None,
    stream: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    other_than_source: str | None = None,
) -> Page[RunView]:
    """Runs, newest first, filtered by source, stream and status (and, with
    ``other_than_source``, without that source's: the pulls without the hub's own jobs)."""
    stmt = select(runs)
    for column, value in (("source", source), ("stream", stream), ("status", status)):
        if value:
            stmt = stmt.where(runs.c[column] == value)
    if other_than_source:
        stmt = stmt.where(runs.c.source != other_than_source)
    with store.connect() as conn:
        total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar() or 0
        rows = conn.execute(stmt.order_by(runs.c.id.desc()).limit(limit).offset(offset)).all()
    return Page[RunView](
        items=[RunView(**_run(dict(r._mapping))) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


def run_detail(store: Engine, run_id: int) -> RunDetail:
    """One run with its batches and contract outcome."""
    with store.connect() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"no run {run_id}")
    data = dict(row._mapping)
    return RunDetail(**_run(data), batches=data["batches"], checks=data["checks"])


def list_quarantine(
    store: Engine,
    *,
    source: str | None = None,
    stream: str | None = None,
    status: str | None = "open",
    limit: int = 50,
    offset: int = 0,
) -> Page[QuarantineRow]:
    """Quarantined rows, newest first (open ones unless ``status`` says otherwise; None
    for all), with the raw row and the reason."""
    filters = {"source": source, "stream": stream, "status": status}
    total, rows = _newest_first(store, quarantine, filters, limit, offset)
    return Page[QuarantineRow](
        items=[QuarantineRow(**dict(r._mapping)) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
