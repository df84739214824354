"""Working through quarantine: list, show, replay and discard held rows.

Nothing leaves quarantine without a record: a row is never deleted. Replaying a row
re-runs the source's current mapping and contract on the raw row as it was kept; a row
that now passes is loaded and marked ``replayed``, one that a newer version of the same
record has overtaken in the store is marked ``superseded`` (loading it would put old data
over new), one that still fails stays ``open`` with its new reason. Discarding marks a row
``discarded`` with who and why. Every replay leaves a run of mode ``replay`` in the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, and_, func, select, tuple_, update

from crm_core.access.actors import who
from crm_core.ledger import runs
from crm_core.pull.load import Loader
from crm_core.pull.quarantine_states import (  # noqa: F401 - re-exported
    DISCARDED,
    OPEN,
    REPLAYED,
    STATUSES,
    SUPERSEDED,
)
from crm_core.pull.sync import SyncEngine
from crm_core.store.tables import RECORD_TABLES, quarantine
from mappings.compile import REASON
from schemas.errors import ConfigError


@dataclass(frozen=True)
class Filters:
    """Which quarantined rows a command works on."""

    ids: tuple[int, ...] = ()
    source: str | None = None
    stream: str | None = None
    status: str | None = OPEN
    reason: str | None = None
    run_id: int | None = None

    def where(self) -> list[Any]:
        """The filters as SQL conditions."""
        q = quarantine.c
        conds: list[Any] = []
        if self.ids:
            conds.append(q.id.in_(self.ids))
        if self.source:
            conds.append(q.source == self.source)
        if self.stream:
            conds.append(q.stream == self.stream)
        if self.status:
            conds.append(q.status == self.status)
        if self.reason:
            conds.append(q.reason.contains(self.reason, autoescape=True))
        if self.run_id is not None:
            conds.append(q.run_id == self.run_id)
        return conds


def list_rows(engine: Engine, filters: Filters, limit: int = 100) -> list[dict[str, Any]]:
    """Quarantined rows matching ``filters``, newest first."""
    stmt = select(quarantine).where(*filters.where()).order_by(quarantine.c.id.desc())
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt.limit(limit))]


def count_by_status(engine: Engine, filters: Filters) -> dict[str, int]:
    """How many rows match, per status (the status filter itself is ignored)."""
    conds = Filters(**{**filters.__dict__, "status": None}).where()
    stmt = select(quarantine.c.status, func.count()).where(*conds).group_by(quarantine.c.status)
    with engine.connect() as conn:
        return {status: int(n) for status, n in conn.execute(stmt)}


def get_row(engine: Engine, row_id: int) -> dict[str, Any]:
    """One quarantined row by id."""
    with engine.connect() as conn:
        row = conn.execute(select(quarantine).where(quarantine.c.id == row_id)).first()
    if row is None:
        raise ConfigError(f"no quarantined row with id {row_id}")
    return dict(row._mapping)


def discard(engine: Engine, filters: Filters, note: str, by: str | None = None) -> int:
    """Mark matching open rows as discarded, with who and why; return how many."""
    if not note.strip():
        raise ConfigError("say why the rows are discarded (--note)")
    conds = [*Filters(**{**filters.__dict__, "status": OPEN}).where()]
    with engine.begin() as conn:
        result = conn.execute(
            update(quarantine)
            .where(*conds)
            .values(
                status=DISCARDED,
                resolved_at=datetime.now(UTC),
                resolved_by=f"{who(by)}: {note.strip()}",
            )
        )
    return int(result.rowcount or 0)


@dataclass
class ReplayResult:
    """What a replay of one source stream did."""

    source: str
    stream: str
    run_id: int | None = None
    replayed: int = 0
    superseded: int = 0
    still_failing: int = 0
    reasons: dict[int, str] = field(default_factory=dict)


def replay(engine: SyncEngine, filters: Filters, by: str | None = None) -> list[ReplayResult]:
    """Re-map and re-check matching open rows with the current mapping and contract."""
    rows = list_rows(engine.store, Filters(**{**filters.__dict__, "status": OPEN}), limit=1_000_000)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["source"], row["stream"])].append(row)
    return [
        _replay_stream(engine, source, stream, held, who(by))
        for (source, stream), held in sorted(groups.items())
    ]


def _frame(held: list[dict[str, Any]]) -> pl.DataFrame:
    """The kept raw rows as one batch, each column typed from its values."""
    names: list[str] = []
    for row in held:
        names.extend(k for k in row["raw"] if k not in names)
    columns = {}
    for name in names:
        values = [row["raw"].get(name) for row in held]
        try:
            columns[name] = pl.Series(name, values, strict=False)
        except (TypeError, pl.exceptions.PolarsError):
            columns[name] = pl.Series(name, [None if v is None else str(v) for v in values])
    return pl.DataFrame(columns)


def _replay_stream(
    engine: SyncEngine, source: str, stream: str, held: list[dict[str, Any]], by: str
) -> ReplayResult:
    outcome = ReplayResult(source, stream)
    compiled = engine.mapping_for(source).stream(stream)
    entity = compiled.entity.name
    raw = _frame(held).with_columns(pl.Series("_qid", [r["id"] for r in held]))
    mapped = compiled.apply(raw)
    checker = engine.checker_for(entity, source)
    if checker is not None:
        mapped = mapped.reject(raw, checker.check(mapped.records).failed_rows)
    ids = raw.get_column("_qid")
    kept_ids = ids if mapped.raw_rows is None else ids.gather(mapped.raw_rows)
    records = mapped.records
    newer = _overtaken(engine.store, entity, source, records)
    now = datetime.now(UTC)
    run_id = runs.start_run(engine.store, source, stream, entity, "replay")
    outcome.run_id = run_id
    counts = runs.RunCounts(rows_read=len(held))
    with engine.store.begin() as conn:
        load = records.filter(~newer)
        counts.rows_loaded = Loader(entity, source, run_id).load(conn, load)
        for qids, status in (
            (kept_ids.filter(~newer), REPLAYED),
            (kept_ids.filter(newer), SUPERSEDED),
        ):
            if qids.len():
                conn.execute(
                    update(quarantine)
                    .where(quarantine.c.id.in_(qids.to_list()))
                    .values(
                        status=status, resolved_at=now, resolved_by=f"{by}: replay run {run_id}"
                    )
                )
        for qid, reason in zip(
            mapped.rejects.get_column("_qid").to_list(),
            mapped.rejects.get_column(REASON).to_list(),
            strict=True,
        ):
            conn.execute(
                update(quarantine)
                .where(quarantine.c.id == qid)
                .values(reason=reason, run_id=run_id)
            )
            outcome.reasons[qid] = reason
    outcome.replayed = int((~newer).sum())
    outcome.superseded = int(newer.sum())
    outcome.still_failing = mapped.rejects.height
    counts.rows_quarantined = outcome.still_failing
    runs.finish_run(engine.store, run_id, counts)
    return outcome


def _overtaken(engine: Engine, entity: str, source: str, records: pl.DataFrame) -> pl.Series:
    """Per record: whether the store already holds a newer version of it."""
    table = RECORD_TABLES[entity]
    if records.height == 0 or "updated_at" not in records.columns:
        return pl.Series("newer", [False] * records.height)
    keys = [c.name for c in table.primary_key.columns if c.name != "source"]
    wanted = records.select(keys).rows()
    with engine.connect() as conn:
        stored = {
            tuple(r[:-1]): r[-1]
            for r in conn.execute(
                select(*[table.c[k] for k in keys], table.c.updated_at).where(
                    and_(table.c.source == source, tuple_(*[table.c[k] for k in keys]).in_(wanted))
                )
            )
        }
    flags = []
    for key, incoming in zip(wanted, records.get_column("updated_at").to_list(), strict=True):
        current = stored.get(tuple(key))
        flags.append(current is not None and incoming is not None and current > incoming)
    return pl.Series("newer", flags)
