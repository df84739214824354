"""The run ledger: one row per run of a stream, read by the CLI, the API and Airflow.

A run holds a heartbeat while it goes on (``heartbeat_at``, renewed at each batch commit and
every :data:`HEARTBEAT_SECONDS` by :class:`Heartbeat`) and records the host and process id
it runs in. A ``running`` run whose heartbeat is older than :data:`STALE_AFTER`, or whose
process on this host is gone, is read as :data:`INTERRUPTED_STATUS` by everything that lists
runs (``status``, ``status --check``, ``runs``, the API); the next run of its stream closes
it as failed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, ScalarSelect, func, select, update

from crm_core.store.tables import runs
from schemas.secrets import mask_secrets

RUNNING, SUCCESS, FAILED = "running", "success", "failed"
#: A run that did not start: another runner held its stream's lease (see
#: :mod:`crm_core.ledger.leases`). Not a failure of the stream, and never its last run.
REFUSED = "refused"
INTERRUPTED = "interrupted: the process ended while the run was going on"
#: How a ``running`` run whose process is gone reads (it is not stored so: see the docstring).
INTERRUPTED_STATUS = "interrupted"
#: How often a run renews its heartbeat between batches.
HEARTBEAT_SECONDS = 30.0
#: A heartbeat older than this means the run's process is gone.
STALE_AFTER = timedelta(seconds=4 * HEARTBEAT_SECONDS)
HOST = socket.gethostname()[:255]

log = logging.getLogger("crm_hub.runs")


@dataclass
class RunCounts:
    """What a run has done so far."""

    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    #: records marked deleted (by a detect pass, a delete flag or a tombstone)
    rows_deleted: int = 0
    batches: int = 0
    #: the contract's outcome: its name, rows failed per check, seconds spent checking
    checks: dict[str, Any] = field(default_factory=dict)


def start_run(
    engine: Engine, source: str, stream: str, entity: str, mode: str, heartbeat: bool = False
) -> int:
    """Open a run (committed at once, so a crash leaves a trace) and close stale ones. The
    run records its host and process id; with ``heartbeat`` its runner promises to renew
    ``heartbeat_at`` (see :class:`Heartbeat`), so that a stale one means the run is gone."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.source == source, runs.c.stream == stream, runs.c.status == RUNNING)
            .values(status=FAILED, finished_at=now, error=INTERRUPTED)
        )
        here = {"host": HOST, "pid": os.getpid(), "heartbeat_at": now if heartbeat else None}
        return _insert_run(conn, source, stream, entity, mode, RUNNING, now, **here)


def _insert_run(
    conn: Connection,
    source: str,
    stream: str,
    entity: str | None,
    mode: str,
    status: str,
    started_at: datetime,
    **values: Any,
) -> int:
    """Insert a run with no rows or batches counted yet (``values``: its other columns); its
    id."""
    result = conn.execute(
        runs.insert().values(
            source=source,
            stream=stream,
            entity=entity,
            mode=mode,
            status=status,
            started_at=started_at,
            rows_read=0,
            rows_loaded=0,
            rows_quarantined=0,
            rows_deleted=0,
            batches=0,
            **values,
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # an INSERT into a table with a primary key
    return int(key[0])


def record_refused(
    engine: Engine, source: str, stream: str, entity: str, mode: str, reason: str
) -> int:
    """Record a run refused because another runner holds its stream (see
    :mod:`crm_core.ledger.leases`); the running run is left alone. Return its id."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        here = {"host": HOST, "pid": os.getpid()}
        return _insert_run(
            conn, source, stream, entity, mode, REFUSED, now, finished_at=now, error=reason, **here
        )


def record_progress(conn: Connection, run_id: int, counts: RunCounts, watermark: Any) -> None:
    """Store a run's counts with the batch they describe (same transaction)."""
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            rows_read=counts.rows_read,
            rows_loaded=counts.rows_loaded,
            rows_quarantined=counts.rows_quarantined,
            rows_deleted=counts.rows_deleted,
            batches=counts.batches,
            watermark=watermark,
            checks=counts.checks or None,
        )
    )
    beat(conn, run_id)


def record_deletes(conn: Connection, run_id: int, counts: RunCounts) -> None:
    """Store a run's deletes with the marks they describe (same transaction)."""
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(rows_deleted=counts.rows_deleted, checks=counts.checks or None)
    )


def beat(conn: Connection, run_id: int) -> None:
    """Renew the heartbeat of a run that keeps one (see :func:`start_run`)."""
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == RUNNING, runs.c.heartbeat_at.is_not(None))
        .values(heartbeat_at=datetime.now(UTC))
    )


class Heartbeat:
    """Renews a run's heartbeat every ``seconds`` in a thread of its own until ``stop()``;
    ``guard`` wraps each renewal (the sync engine bounds it by the store's timeout). A
    renewal that fails is logged and tried again at the next beat."""

    def __init__(
        self,
        engine: Engine,
        run_id: int,
        seconds: float = HEARTBEAT_SECONDS,
        guard: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self.engine, self.run_id, self.seconds, self.guard = engine, run_id, seconds, guard
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crm-hub-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                with self.guard(), self.engine.begin() as conn:
                    beat(conn, self.run_id)
            except Exception as exc:  # noqa: BLE001 - the run goes on; a stale beat shows
                log.warning("run %s: heartbeat failed: %s", self.run_id, exc)

    def stop(self) -> None:
        """Stop beating (waits for a renewal under way)."""
        self._stop.set()
        self._thread.join()


def process_gone(row: dict[str, Any], now: datetime | None = None) -> bool:
    """Whether a ``running`` ledger row's process is gone: the heartbeat it keeps is older
    than :data:`STALE_AFTER`, or its process id no longer exists on this host."""
    if row.get("status") != RUNNING:
        return False
    now = now or datetime.now(UTC)
    last = row.get("heartbeat_at")
    if last is not None and now - last > STALE_AFTER:
        return True
    pid = row.get("pid")
    return row.get("host") == HOST and pid is not None and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def as_read(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A ledger row as readers see it: a running run whose process is gone is interrupted."""
    if process_gone(row, now):
        row["status"] = INTERRUPTED_STATUS
        row["error"] = row.get("error") or INTERRUPTED
    return row


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
                rows_deleted=counts.rows_deleted,
                batches=counts.batches,
                checks=counts.checks or None,
            )
        )


def set_attempt(engine: Engine, run_id: int, attempt: int, max_attempts: int) -> None:
    """Record which try of its scheduled run a run was (``checks.attempt`` and
    ``checks.max_attempts``): the health check counts the tries of one scheduled run as
    one failure (see :mod:`crm_core.ledger.health`)."""
    with engine.begin() as conn:
        checks = conn.execute(select(runs.c.checks).where(runs.c.id == run_id)).scalar()
        merged = {**(checks or {}), "attempt": attempt, "max_attempts": max_attempts}
        conn.execute(update(runs).where(runs.c.id == run_id).values(checks=merged))


def note_attempt(
    engine: Engine, source: str, stream: str, since: datetime, attempt: int, max_attempts: int
) -> int | None:
    """:func:`set_attempt` on the newest run of ``source.stream`` this process started at
    ``since`` or later (a scheduler's task knows its try, not the run's id); return its id."""
    with engine.connect() as conn:
        run_id = conn.execute(
            select(func.max(runs.c.id)).where(
                runs.c.source == source,
                runs.c.stream == stream,
                runs.c.host == HOST,
                runs.c.pid == os.getpid(),
                runs.c.started_at >= since,
            )
        ).scalar()
    if run_id is not None:
        set_attempt(engine, int(run_id), attempt, max_attempts)
    return None if run_id is None else int(run_id)


def last_columns(engine: Engine, source: str, stream: str) -> list[str] | None:
    """The source columns the last run of a stream that read anything saw (None if none)."""
    found = last_columns_run(engine, source, stream)
    return None if found is None else found[1]


def last_columns_run(engine: Engine, source: str, stream: str) -> tuple[int, list[str]] | None:
    """The id of the last run of a stream that read anything, and the source columns it
    saw (None if no run read any)."""
    stmt = (
        select(runs.c.id, runs.c.checks)
        .where(runs.c.source == source, runs.c.stream == stream, runs.c.rows_read > 0)
        .order_by(runs.c.id.desc())
        .limit(20)
    )
    with engine.connect() as conn:
        for run_id, checks in conn.execute(stmt):
            if checks and "columns" in checks:
                return int(run_id), list(checks["columns"])
    return None


def list_runs(
    engine: Engine,
    source: str | None = None,
    stream: str | None = None,
    last_only: bool = False,
    limit: int = 200,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Runs, newest first; with ``last_only`` only the newest per source and stream that
    was not refused (see :data:`REFUSED`). Errors come with secrets masked (a row recorded
    before masking existed shows none)."""
    stmt = select(runs)
    if source:
        stmt = stmt.where(runs.c.source == source)
    if stream:
        stmt = stmt.where(runs.c.stream == stream)
    if status:
        stored = RUNNING if status == INTERRUPTED_STATUS else status
        stmt = stmt.where(runs.c.status == stored)
    if last_only:
        newest = (
            select(func.max(runs.c.id).label("id"))
            .where(runs.c.status != REFUSED)
            .group_by(runs.c.source, runs.c.stream)
        ).subquery()
        stmt = stmt.where(runs.c.id.in_(select(newest.c.id)))
    stmt = stmt.order_by(runs.c.id.desc()).limit(limit)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        rows = [masked(as_read(dict(row._mapping), now)) for row in conn.execute(stmt)]
    return [r for r in rows if not status or r["status"] == status]


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
        return _insert_run(
            conn, source, stream, None, "-", FAILED, since or now, finished_at=now, error=error
        )


def last_success_of(source: Any, entity: str) -> ScalarSelect[Any]:
    """When the last successful run of ``source``'s (a value or a column of the outer
    query) stream(s) of ``entity`` finished, as a scalar subquery (null: never)."""
    return (
        select(func.max(runs.c.finished_at))
        .where(runs.c.source == source, runs.c.entity == entity, runs.c.status == SUCCESS)
        .scalar_subquery()
    )


def last_success(conn: Connection, source: str, entity: str) -> datetime | None:
    """When the last successful run of ``source``'s stream(s) of ``entity`` finished
    (None: never): how fresh what the hub holds of it is."""
    return conn.execute(select(last_success_of(source, entity))).scalar()
