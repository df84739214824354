"""How fresh the hub's copy of a source stream is, read from the run ledger.

A stream's data is as of the finish of its last successful run (``as_of``; None: no
success yet). It is stale when the stream is late for its source's schedule by the rule
of ``crm-hub status --check`` (:func:`crm_core.ledger.health.is_late`: no successful run
started since the scheduled time before the last one), or when it never succeeded. The
customer answers of the API and the customer page say it per source and stream
(:mod:`crm_core.api.service.freshness`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, union_all

from crm_core.ledger.health import due_since, late_by
from crm_core.ledger.names import HUB_SOURCE
from crm_core.ledger.runs import SUCCESS
from crm_core.pull import filecache
from crm_core.pull.state import DELETES_SUFFIX
from crm_core.store.tables import runs, stream_state
from mappings import compile_mapping, load_mapping
from schemas.errors import HubError
from schemas.settings import HubConfig


@dataclass(frozen=True)
class StreamFreshness:
    """How fresh one stream of one source is."""

    source: str
    stream: str
    entity: str
    #: the source's schedule (None: not in the config, so lateness is not known)
    schedule: str | None
    #: when the stream's last successful run finished (None: no success yet)
    as_of: datetime | None
    stale: bool


@dataclass(frozen=True)
class LastSuccess:
    """A stream's last successful run: its entity and when it started and finished."""

    entity: str | None
    started_at: datetime
    finished_at: datetime | None


#: the (source, stream) pairs read by one statement
CHUNK = 100


def last_successes(
    conn: Connection, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], LastSuccess]:
    """Per (source, stream) of ``pairs``, its last successful run (missing: none yet).

    One statement per :data:`CHUNK` pairs, each pair one short read of the ledger's index
    on (source, stream, started_at) from its newest end: the time does not grow with the
    ledger's history, as a ``GROUP BY`` over every run of the streams would.
    """
    cols = (runs.c.source, runs.c.stream, runs.c.entity, runs.c.started_at, runs.c.finished_at)
    wanted = sorted(set(pairs))
    found: dict[tuple[str, str], LastSuccess] = {}
    for at in range(0, len(wanted), CHUNK):
        newest = [
            select(*cols)
            .where(runs.c.source == source, runs.c.stream == stream, runs.c.status == SUCCESS)
            .order_by(runs.c.started_at.desc(), runs.c.id.desc())
            .limit(1)
            .subquery()
            for source, stream in wanted[at : at + CHUNK]
        ]
        stmt = union_all(*(select(*q.c) for q in newest))
        for r in conn.execute(stmt):
            found[(r.source, r.stream)] = LastSuccess(r.entity, r.started_at, r.finished_at)
    return found


def ledger_streams(conn: Connection, sources: Collection[str] | None) -> set[tuple[str, str]]:
    """The (source, stream) pairs the hub has pulled of ``sources`` (None: of every
    source), from the small table of stream positions (not its deletes positions)."""
    stmt = select(stream_state.c.source, stream_state.c.stream).where(
        stream_state.c.stream.not_like(f"%{DELETES_SUFFIX}")
    )
    if sources is not None:
        stmt = stmt.where(stream_state.c.source.in_(sorted(sources)))
    return {(r.source, r.stream) for r in conn.execute(stmt)}


def declared_streams(config: HubConfig, source: str) -> dict[str, str] | None:
    """The enabled streams of a configured source and the entity each loads (None: the
    source is not in the config, or its mapping cannot be read now)."""
    src = config.sources.get(source)
    if src is None:
        return None
    path = src.mapping
    try:
        mapping = filecache.cached("mapping", path, lambda: compile_mapping(load_mapping(path)))
    except (HubError, OSError, ValueError):
        return None  # `crm-hub check` names the problem; the ledger still knows the runs
    return {
        name: stream.entity.name
        for name, stream in mapping.streams.items()
        if name in src.streams and src.streams[name].enabled
    }


def stream_freshness(
    conn: Connection,
    config: HubConfig | None,
    sources: Collection[str] | None,
    entities: Collection[str],
    now: datetime | None = None,
) -> list[StreamFreshness]:
    """The freshness of every stream of ``sources`` (None: every source the config or
    the hub's stream positions know) that loads one of ``entities``, by source and stream.

    A configured source's streams are its enabled ones (those that never succeeded too);
    for a source the config lacks (or ``config`` None), the streams the hub has pulled
    (:func:`ledger_streams`) whose last success loaded one of ``entities``, with no
    schedule to be late for.
    """
    now = now or datetime.now(UTC)
    pulled = ledger_streams(conn, sources)
    names = set(sources) if sources is not None else {s for s, _ in pulled}
    if sources is None and config is not None:
        names |= set(config.sources)
    names.discard(HUB_SOURCE)
    declared: dict[str, dict[str, str] | None] = {
        source: declared_streams(config, source) if config is not None else None for source in names
    }
    pairs = {
        (s, t)
        for s, streams in declared.items()
        if streams
        for t, entity in streams.items()
        if entity in entities
    }
    pairs |= {(s, t) for s, t in pulled if s in names and declared[s] is None}
    done = last_successes(conn, pairs)
    due: dict[str, datetime | None] = {}  # per schedule: one cron walk, not one per stream
    out: list[StreamFreshness] = []
    for source, stream in sorted(pairs):
        last = done.get((source, stream))
        streams = declared[source]
        entity = streams[stream] if streams is not None else last.entity if last else None
        if entity is None or entity not in entities:
            continue
        schedule = config.schedule_of(source) if config and streams is not None else None
        if schedule is not None and schedule not in due:
            due[schedule] = due_since(schedule, now, timedelta(0))
        late = schedule is not None and late_by(due[schedule], last.started_at if last else None)
        as_of = last.finished_at if last else None
        out.append(StreamFreshness(source, stream, entity, schedule, as_of, as_of is None or late))
    return out
