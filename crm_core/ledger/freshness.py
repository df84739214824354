"""How fresh the hub's copy of a source stream is, read from the run ledger.

A stream's data is as of the finish of its last successful run (``as_of``; None: no
success yet). It is stale when :func:`crm_core.ledger.health.is_late` says the stream is
late for its source's schedule (no successful run started since the scheduled time before
the last one: the rule of ``crm-hub status --check``), or when it never succeeded. The
customer answers of the API and the customer page say it per source and stream
(:mod:`crm_core.api.service.freshness`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select

from crm_core.ledger.health import is_late
from crm_core.ledger.names import HUB_SOURCE
from crm_core.ledger.runs import SUCCESS
from crm_core.pull import filecache
from crm_core.store.tables import runs
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


def last_successes(
    conn: Connection, sources: Collection[str] | None = None
) -> dict[tuple[str, str], LastSuccess]:
    """Per (source, stream) of ``sources`` (None: every source), its last successful run."""
    key = (runs.c.source, runs.c.stream)
    newest = select(func.max(runs.c.id)).where(runs.c.status == SUCCESS).group_by(*key)
    if sources is not None:
        newest = newest.where(runs.c.source.in_(sorted(sources)))
    stmt = select(*key, runs.c.entity, runs.c.started_at, runs.c.finished_at).where(
        runs.c.id.in_(newest)
    )
    return {
        (r.source, r.stream): LastSuccess(r.entity, r.started_at, r.finished_at)
        for r in conn.execute(stmt)
    }


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
    the ledger knows) that loads one of ``entities``, by source and stream.

    A configured source's streams are its enabled ones (those that never succeeded too);
    for a source the config lacks (or ``config`` None), the streams the ledger has a
    success of, with no schedule to be late for.
    """
    now = now or datetime.now(UTC)
    done = last_successes(conn, sources)
    names = set(sources) if sources is not None else {s for s, _ in done}
    if sources is None and config is not None:
        names |= set(config.sources)
    names.discard(HUB_SOURCE)
    out: list[StreamFreshness] = []
    for source in sorted(names):
        declared = declared_streams(config, source) if config is not None else None
        schedule = config.schedule_of(source) if declared is not None and config else None
        if declared is None:
            declared = {
                t: last.entity for (s, t), last in done.items() if s == source and last.entity
            }
        for stream, entity in sorted(declared.items()):
            if entity not in entities:
                continue
            last = done.get((source, stream))
            started = last.started_at if last else None
            as_of = last.finished_at if last else None
            late = schedule is not None and is_late(schedule, started, now, timedelta(0))
            out.append(
                StreamFreshness(source, stream, entity, schedule, as_of, as_of is None or late)
            )
    return out
