"""The run ledger: one row per run of a stream, read by the CLI, the API and Airflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from crm_core.store.tables import runs
from schemas.secrets import mask_secrets

RUNNING, SUCCESS, FAILED = "running", "success", "failed"
INTERRUPTED = "interrupted: the process ended while the run was going on"


@dataclass
class RunCounts:
    """What a run has done so far."""

    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    batches: int = 0
    #: the contract's outcome: its name, rows failed per check, seconds spent checking
    checks: dict[str, Any] = field(default_factory=dict)


def start_run(engine: Engine, source: str, stream: str, entity: str, mode: str) -> int:
    """Open a run (committed at once, so a crash leaves a trace) and close stale ones."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.source == source, runs.c.stream == stream, runs.c.status == RUNNING)
            .values(status=FAILED, finished_at=now, error=INTERRUPTED)
        )
        result = conn.execute(
            runs.insert().values(
                source=source,
                stream=stream,
                entity=entity,
                mode=mode,
                status=RUNNING,
                started_at=now,
                rows_read=0,
                rows_loaded=0,
                rows_quarantined=0,
                batches=0,
            )
        )
        key = result.inserted_primary_key
        assert key is not None  # an INSERT into a table with a primary key
        return int(key[0])


def record_progress(conn: Connection, run_id: int, counts: RunCounts, watermark: Any) -> None:
    """Store a run's counts with the batch they describe (same transaction)."""
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            rows_read=counts.rows_read,
            rows_loaded=counts.rows_loaded,
            rows_quarantined=counts.rows_quarantined,
            batches=counts.batches,
            watermark=watermark,
            checks=counts.checks or None,
        )
    )


def finish_run(engine: Engine, run_id: int, counts: RunCounts, error: str | None = None) -> None:
    """Close a run as success, or failed with its error (secrets in it masked)."""
    error = mask_secrets(error) if error else error
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                status=FAILED if error else SUCCESS,
                finished_at=datetime.now(UTC),
                error=error,
                rows_read=counts.rows_read,
                rows_loaded=counts.rows_loaded,
                rows_quarantined=counts.rows_quarantined,
                batches=counts.batches,
                checks=counts.checks or None,
            )
        )


def last_columns(engine: Engine, source: str, stream: str) -> list[str] | None:
    """The source columns the last run of a stream that read anything saw (None if none)."""
    stmt = (
        select(runs.c.checks)
        .where(runs.c.source == source, runs.c.stream == stream, runs.c.rows_read > 0)
        .order_by(runs.c.id.desc())
        .limit(20)
    )
    with engine.connect() as conn:
        for (checks,) in conn.execute(stmt):
            if checks and "columns" in checks:
                return list(checks["columns"])
    return None


def list_runs(
    engine: Engine,
    source: str | None = None,
    stream: str | None = None,
    last_only: bool = False,
    limit: int = 200,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Runs, newest first; with ``last_only`` only the newest per source and stream.
    Errors come with secrets masked (a row recorded before masking existed shows none)."""
    stmt = select(runs)
    if source:
        stmt = stmt.where(runs.c.source == source)
    if stream:
        stmt = stmt.where(runs.c.stream == stream)
    if status:
        stmt = stmt.where(runs.c.status == status)
    if last_only:
        newest = (
            select(func.max(runs.c.id).label("id")).group_by(runs.c.source, runs.c.stream)
        ).subquery()
        stmt = stmt.where(runs.c.id.in_(select(newest.c.id)))
    stmt = stmt.order_by(runs.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [masked(dict(row._mapping)) for row in conn.execute(stmt)]


def masked(row: dict[str, Any]) -> dict[str, Any]:
    """A ledger row with secrets in its error masked, for whatever shows it."""
    if row.get("error"):
        row["error"] = mask_secrets(row["error"])
    return row


def record_failed_attempt(
    engine: Engine, source: str, stream: str, error: str, since: datetime | None = None
) -> int:
    """Make sure a failed scheduler attempt shows in the ledger; return its run's id.

    The engine records the failures it sees itself. A scheduler also sees failures the
    engine cannot record: a task killed at its timeout leaves its run ``running``, and a
    task that failed before its run started (a bad config, an unreachable store) left
    none. The first is closed as failed with ``error``; for the second a failed run is
    added. A failure already recorded since ``since`` (the attempt's start) is left as is.
    Secrets in ``error`` are masked.
    """
    error = mask_secrets(error)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        newest = conn.execute(
            select(runs.c.id, runs.c.status, runs.c.started_at)
            .where(runs.c.source == source, runs.c.stream == stream)
            .order_by(runs.c.id.desc())
            .limit(1)
        ).first()
        if newest is not None and newest.status == RUNNING:
            conn.execute(
                update(runs)
                .where(runs.c.id == newest.id)
                .values(status=FAILED, finished_at=now, error=error)
            )
            return int(newest.id)
        if newest is not None and since is not None and newest.started_at >= since:
            return int(newest.id)
        result = conn.execute(
            runs.insert().values(
                source=source,
                stream=stream,
                mode="-",
                status=FAILED,
                started_at=since or now,
                finished_at=now,
                rows_read=0,
                rows_loaded=0,
                rows_quarantined=0,
                batches=0,
                error=error,
            )
        )
        key = result.inserted_primary_key
        assert key is not None  # an INSERT into a table with a primary key
        return int(key[0])


def last_success(conn: Connection, source: str, entity: str) -> datetime | None:
    """When the last successful run of ``source``'s stream(s) of ``entity`` finished
    (None: never): how fresh what the hub holds of it is."""
    stmt = select(func.max(runs.c.finished_at)).where(
        runs.c.source == source, runs.c.entity == entity, runs.c.status == SUCCESS
    )
    return conn.execute(stmt).scalar()
