"""What ops read from the run ledger: history, per-stream statistics and a health check.

The CLI (``crm-hub runs``, ``status``, ``metrics``), the API and Airflow tasks read the same
ledger through these functions. A stream is unhealthy when its last run was interrupted (its
process is gone, see :mod:`crm_core.ledger.runs`), when its last N runs failed (the
scheduler's tries of one scheduled run count as one; while it retries, it says so), or when it
is late: no successful run has started since the scheduled time before the last one, that is
a whole interval of its schedule went by without a success.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter
from sqlalchemy import Engine, and_, func, select

from crm_core.ledger.names import HUB_SOURCE
from crm_core.ledger.runs import (
    FAILED,
    INTERRUPTED_STATUS,
    REFUSED,
    RUNNING,
    SUCCESS,
    list_runs,
    masked,
)
from crm_core.pull import positions
from crm_core.store.tables import runs
from schemas.settings import HubConfig

#: Schedules with no next time to be late for.
UNTIMED = {"@once", "@continuous"}
JSON_FIELDS = (
    "source",
    "stream",
    "entity",
    "mode",
    "status",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "rows_deleted",
    "started_at",
    "finished_at",
    "error",
)


def duration_seconds(row: dict[str, Any]) -> float | None:
    """How long a finished run took, in seconds (None while it runs)."""
    if not row.get("finished_at") or not row.get("started_at"):
        return None
    return round((row["finished_at"] - row["started_at"]).total_seconds(), 3)


def run_json(row: dict[str, Any]) -> dict[str, Any]:
    """A ledger row as the CLI's and API's JSON: counts, times, duration and watermark."""
    out = {k: row[k] for k in JSON_FIELDS}
    out["error"] = masked({"error": row["error"]})["error"]
    out["run_id"] = row["id"]
    position = positions.decode(row["watermark"])
    # null for a run that moved no position (it read nothing): not the tables' "-"
    out["watermark"] = None if position is None else positions.describe(position)
    out["duration_seconds"] = duration_seconds(row)
    out["checks"] = row.get("checks")
    return out


def history(
    store: Engine,
    source: str | None = None,
    stream: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Runs, newest first, filtered."""
    return list_runs(store, source=source, stream=stream, status=status, limit=limit)


@dataclass
class StreamStats:
    """Everything the ledger says about one stream of one source."""

    source: str
    stream: str
    runs: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_deleted: int = 0
    last: dict[str, Any] | None = None
    last_finished: dict[str, Any] | None = None
    last_success_started: datetime | None = None
    last_success_finished: datetime | None = None
    #: failed scheduled runs since the last success (the tries of one count once)
    consecutive_failures: int = 0
    #: ``retrying, try N of M`` while the scheduler tries the last failed run again
    retrying: str | None = None


def stream_stats(store: Engine) -> dict[tuple[str, str], StreamStats]:
    """Per source and stream: run counts, row totals, the newest runs, failures in a row."""
    key = (runs.c.source, runs.c.stream)
    stats: dict[tuple[str, str], StreamStats] = {}

    def get(source: str, stream: str) -> StreamStats:
        return stats.setdefault((source, stream), StreamStats(source, stream))

    last_success = (
        select(*key, func.max(runs.c.id).label("id"))
        .where(runs.c.status == SUCCESS)
        .group_by(*key)
        .subquery()
    )
    last_finished = (
        select(*key, func.max(runs.c.id).label("id"))
        .where(runs.c.status.not_in((RUNNING, REFUSED)))
        .group_by(*key)
        .subquery()
    )
    with store.connect() as conn:
        for row in conn.execute(
            select(
                *key,
                runs.c.status,
                func.count(),
                func.sum(runs.c.rows_read),
                func.sum(runs.c.rows_loaded),
                func.sum(runs.c.rows_quarantined),
                func.sum(runs.c.rows_deleted),
            ).group_by(*key, runs.c.status)
        ):
            s = get(row.source, row.stream)
            s.runs[row.status] = int(row[3])
            s.rows_read += int(row[4] or 0)
            s.rows_loaded += int(row[5] or 0)
            s.rows_quarantined += int(row[6] or 0)
            s.rows_deleted += int(row[7] or 0)
        for finished in conn.execute(
            select(runs).where(runs.c.id.in_(select(last_finished.c.id)))
        ).mappings():
            get(finished["source"], finished["stream"]).last_finished = masked(dict(finished))
        for row in conn.execute(
            select(runs.c.source, runs.c.stream, runs.c.started_at, runs.c.finished_at).where(
                runs.c.id.in_(select(last_success.c.id))
            )
        ):
            s = get(row.source, row.stream)
            s.last_success_started, s.last_success_finished = row.started_at, row.finished_at
        since_success = runs.outerjoin(
            last_success,
            and_(runs.c.source == last_success.c.source, runs.c.stream == last_success.c.stream),
        )
        previous: dict[tuple[str, str], int | None] = {}
        for row in conn.execute(
            select(*key, runs.c.checks)
            .select_from(since_success)
            .where(runs.c.status == FAILED, runs.c.id > func.coalesce(last_success.c.id, 0))
            .order_by(*key, runs.c.id)
        ):
            s = get(row.source, row.stream)
            attempt, _ = tries(row.checks)
            before = previous.get((row.source, row.stream))
            if not (attempt and attempt > 1 and before is not None and before < attempt):
                s.consecutive_failures += 1  # a scheduled run's first failed try
            previous[(row.source, row.stream)] = attempt
    for last in list_runs(store, last_only=True, limit=100_000):
        s = get(last["source"], last["stream"])
        s.last = last
        s.retrying = retrying(s.last_finished)
    return stats


def tries(checks: dict[str, Any] | None) -> tuple[int | None, int | None]:
    """A run's try of its scheduled run and how many it gets (None, None when unknown:
    a run started by hand, see :func:`crm_core.ledger.runs.set_attempt`)."""
    checks = checks or {}
    attempt, of = checks.get("attempt"), checks.get("max_attempts")
    if isinstance(attempt, int) and isinstance(of, int):
        return attempt, of
    return None, None


def retrying(last_finished: dict[str, Any] | None) -> str | None:
    """``retrying, try 2 of 4`` when the newest finished run failed a try that the
    scheduler will try again (None otherwise)."""
    if not last_finished or last_finished.get("status") != FAILED:
        return None
    attempt, of = tries(last_finished.get("checks"))
    if attempt is None or of is None or attempt >= of:
        return None
    return f"retrying, try {attempt + 1} of {of}"


def due_since(schedule: str, now: datetime, grace: timedelta) -> datetime | None:
    """The time a stream on ``schedule`` must have had a successful run start since, not
    to be late at ``now``: the scheduled time before the last one, less ``grace`` (None:
    a schedule with no time to be late for)."""
    if schedule in UNTIMED:
        return None
    ticks = croniter(schedule, now)
    ticks.get_prev(datetime)
    return ticks.get_prev(datetime) - grace


def is_late(
    schedule: str, last_success_started: datetime | None, now: datetime, grace: timedelta
) -> bool:
    """True when no successful run started since the scheduled time before the last one."""
    return late_by(due_since(schedule, now, grace), last_success_started)


def late_by(due: datetime | None, last_success_started: datetime | None) -> bool:
    """Whether a stream whose last success started at ``last_success_started`` is late for
    ``due`` (see :func:`due_since`; None: never late)."""
    return due is not None and (last_success_started is None or last_success_started < due)


@dataclass
class StreamHealth:
    """Whether one stream needs a human, and why."""

    source: str
    stream: str
    schedule: str | None
    last_status: str | None
    last_success_at: datetime | None
    consecutive_failures: int
    late: bool
    problems: list[str]
    #: ``retrying, try N of M`` while the scheduler tries the last failed run again
    retrying: str | None = None

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def health(
    config: HubConfig,
    store: Engine,
    now: datetime | None = None,
    failures: int = 3,
    grace: timedelta = timedelta(0),
    stats: dict[tuple[str, str], StreamStats] | None = None,
) -> list[StreamHealth]:
    """The health of every enabled stream of the config, and of the hub-wide jobs that ran.

    A stream has a problem when its last ``failures`` runs failed, or when it is late for
    its source's schedule (see :func:`is_late`), ``grace`` allowed on top.
    """
    now = now or datetime.now(UTC)
    stats = stream_stats(store) if stats is None else stats
    wanted: list[tuple[str, str, str | None]] = [
        (source, stream, config.schedule_of(source))
        for source, src in config.sources.items()
        for stream, spec in src.streams.items()
        if spec.enabled
    ]
    wanted += sorted((s, t, None) for s, t in stats if s == HUB_SOURCE)
    out = []
    for source, stream, schedule in wanted:
        s = stats.get((source, stream)) or StreamStats(source, stream)
        problems = []
        last = s.last or {}
        if last.get("status") == INTERRUPTED_STATUS:
            beat = last.get("heartbeat_at") or last.get("started_at")
            problems.append(
                f"run {last['id']} was interrupted: its process is gone (host "
                f"{last.get('host') or '?'}, pid {last.get('pid') or '?'}, last heartbeat "
                f"{f'{beat:%Y-%m-%d %H:%M:%S} UTC' if beat else 'none'})"
            )
        if failures > 0 and s.consecutive_failures >= failures:
            error = (s.last_finished or {}).get("error") or ""
            note = f" ({s.retrying})" if s.retrying else ""
            problems.append(
                f"failed its last {s.consecutive_failures} runs{note}; last error: {error[:200]}"
            )
        late = schedule is not None and is_late(schedule, s.last_success_started, now, grace)
        if late:
            if s.last_success_started is None:
                problems.append(f"no successful run yet (schedule {schedule})")
            else:
                problems.append(
                    f"late: last successful run started {s.last_success_started:%Y-%m-%d %H:%M}"
                    f" UTC, schedule {schedule}"
                )
        out.append(
            StreamHealth(
                source=source,
                stream=stream,
                schedule=schedule,
                last_status=(s.last or {}).get("status"),
                last_success_at=s.last_success_finished,
                consecutive_failures=s.consecutive_failures,
                late=late,
                problems=problems,
                retrying=s.retrying,
            )
        )
    return out


def rows_loaded_since(store: Engine, source: str, since: datetime) -> dict[str, int]:
    """Rows loaded into the store by a source's runs that started at ``since`` or later."""
    with store.connect() as conn:
        row = conn.execute(
            select(func.count(), func.coalesce(func.sum(runs.c.rows_loaded), 0)).where(
                runs.c.source == source, runs.c.started_at >= since
            )
        ).one()
    return {"runs": int(row[0]), "rows_loaded": int(row[1])}
