"""Deletes: how the store learns that the source no longer has a record.

A delete is soft: the record's row keeps its data and gains ``deleted_at`` and the run
that saw it go (``deleted_run_id``); nothing is physically removed by a pull, and a row
read again is undeleted by the upsert (:mod:`crm_core.pull.load`). How a stream's deletes
are known is its ``deletes:`` in crm-hub.yaml (``schemas.settings.DeletesConfig``):

- ``detect``: a pass reads the source's keys alone (in key order, in batches:
  ``read_keys`` of the connector) and compares them with the store's live keys. On a
  PostgreSQL store both key sets are read columnar at the same time and compared on the
  hub's side, spilled by hash to local files (:mod:`crm_core.pull.detect_columnar`); only
  the keys gone are then marked, by key. On other stores the source's keys go into a
  temporary table of the store and one ``UPDATE ... WHERE NOT EXISTS`` marks. Either way
  memory stays a batch of keys (and a part of them) whatever the table's size. A record that
  comes back is undeleted when a pull reads it again (the upsert clears the marks). A
  guard stops the pass, before it marks anything, when the source sent no key at all while
  the store holds rows, or when it would delete more than ``max_share`` of the stream's
  live rows.
- ``flag`` / ``tombstone``: a row read with the flag set is not mapped, checked or loaded:
  its key is marked deleted in the batch's own transaction (:func:`mark_deleted`).
- ``deleted_since``: the source lists the records deleted since a position; see
  :mod:`crm_core.pull.deleted_since` (which marks with :func:`mark_deleted` too).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    TableClause,
    and_,
    bindparam,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table

from crm_core.ledger import runs
from crm_core.pull import detect_columnar
from crm_core.pull.detect_columnar import KEY_BATCH_ROWS
from crm_core.pull.load import copy_frame
from crm_core.pull.prefetch import Prefetch
from crm_core.store.tables import RECORD_TABLES
from mappings.compile import CompiledStream
from schemas.errors import FatalSyncError
from schemas.settings import DeletesConfig
from schemas.source import KeyedSource, Source

#: The temporary table a pass's (or a batch's) deleted or present keys are staged in.
STAGE_PREFIX = "_keys_"
#: What the run's ``checks`` calls a detect pass.
DETECT = "detect"
#: PostgreSQL's work_mem for a detect pass's anti-join (the keys' hash table in memory).
HASH_MEMORY = "64MB"


def flag_expr(rule: tuple[str, list[Any]]) -> pl.Expr:
    """True on the rows whose flag column holds one of the values (compared as trimmed
    text, so that CHAR padding and numeric codes match; true/false for booleans)."""
    column, values = rule
    wanted = [str(v).lower() if isinstance(v, bool) else str(v).strip() for v in values]
    text = pl.col(column).cast(pl.Utf8).str.strip_chars()
    return text.is_in(wanted).fill_null(False)


def split_flagged(
    raw: pl.DataFrame, deletes: DeletesConfig, compiled: CompiledStream
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The rows to map and load, and the model keys of the rows read as deletes (None
    when the stream knows deletes otherwise). A tombstone field that a batch lacks means
    no tombstone in it; a flag column it lacks is an error."""
    rule = deletes.flag_rule()
    if rule is None:
        return raw, None
    if rule[0] not in raw.columns:
        if deletes.tombstone is not None:
            return raw, compiled.keys(raw.clear())
        raise FatalSyncError(
            f"stream {compiled.stream!r}: deletes.flag names the column {rule[0]!r}, which "
            f"the source does not have (it has: {', '.join(raw.columns)})"
        )
    flagged = raw.select(flag_expr(rule).alias("_flagged")).to_series()
    if not flagged.any():
        return raw, compiled.keys(raw.clear())
    return raw.filter(~flagged), compiled.keys(raw.filter(flagged))


def _stage(conn: Connection, entity: str) -> TableClause:
    """A temporary table of the entity's key columns on this connection, emptied."""
    table = RECORD_TABLES[entity]
    name = f"{STAGE_PREFIX}{entity}"
    keys = [c.name for c in table.primary_key.columns if c.name != "source"]
    columns = ", ".join(f'"{k}" {table.c[k].type.compile(dialect=conn.dialect)}' for k in keys)
    conn.exec_driver_sql(f'CREATE TEMPORARY TABLE IF NOT EXISTS "{name}" ({columns})')
    conn.exec_driver_sql(f'DELETE FROM "{name}"')
    return sql_table(name, *(sql_column(k) for k in keys))


def _put(conn: Connection, stage: TableClause, keys: pl.DataFrame) -> None:
    """Add a frame of keys to the stage."""
    if keys.height == 0:
        return
    keys = keys.select([c.name for c in stage.columns])
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        copy_frame(conn, stage.name, keys)
    else:
        conn.execute(stage.insert(), keys.to_dicts())


def _drop(conn: Connection, stage: TableClause) -> None:
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{stage.name}"')


def _matches(table: Table, stage: TableClause) -> Any:
    """EXISTS a staged key equal to the record's key."""
    return exists().where(and_(*(stage.c[c.name] == table.c[c.name] for c in stage.columns)))


def mark_deleted(
    conn: Connection,
    entity: str,
    source: str,
    keys: pl.DataFrame | None,
    run_id: int,
    held: list[int] | None = None,
) -> int:
    """Mark the records of ``keys`` deleted (those not deleted already); return how many
    were. In the caller's transaction: the batch's own. ``held`` gets how many of the
    keys the store holds, deleted or not."""
    if keys is None or keys.height == 0:
        return 0
    table = RECORD_TABLES[entity]
    stage = _stage(conn, entity)
    try:
        _put(conn, stage, keys)
        if held is not None:
            mine = (
                select(func.count())
                .select_from(table)
                .where(table.c.source == source, _matches(table, stage))
            )
            held.append(int(conn.execute(mine).scalar_one()))
        result = conn.execute(
            update(table)
            .where(table.c.source == source, table.c.deleted_at.is_(None), _matches(table, stage))
            .values(deleted_at=datetime.now(UTC), deleted_run_id=run_id)
        )
        return int(result.rowcount or 0)
    finally:
        _drop(conn, stage)


def detect_due(engine: Engine, source: str, stream: str, every: int) -> bool:
    """Whether a detect pass is due: none of the stream's last ``every - 1`` successful
    runs made one (``every: 1``: every run)."""
    if every <= 1:
        return True
    stmt = (
        select(runs.runs.c.checks)
        .where(
            runs.runs.c.source == source,
            runs.runs.c.stream == stream,
            runs.runs.c.status == runs.SUCCESS,
        )
        .order_by(runs.runs.c.id.desc())
        .limit(every - 1)
    )
    with engine.connect() as conn:
        recent = [checks for (checks,) in conn.execute(stmt)]
    return not any(_detected(c) for c in recent)


def _detected(checks: dict[str, Any] | None) -> bool:
    return bool(checks) and (checks or {}).get("deletes", {}).get("pass") == DETECT


def source_keys(
    source: Source, compiled: CompiledStream, stream: str, batch_size: int
) -> Iterator[pl.DataFrame]:
    """The model keys of every record the source has, a batch at a time: the connector's
    keys-only read where it has one, else a whole read keeping the key columns."""
    columns = compiled.key_columns
    if isinstance(source, KeyedSource):  # keys only: larger batches cost little memory
        batches = source.read_keys(stream, columns, max(batch_size, KEY_BATCH_ROWS))
    else:
        batches = (b.select(columns) for b in source.read(stream, None, batch_size))
    for raw in batches:
        yield compiled.keys(raw)


def detect(
    engine: Engine,
    source: Source,
    compiled: CompiledStream,
    stream: str,
    run_id: int,
    counts: runs.RunCounts,
    deletes: DeletesConfig,
    batch_size: int,
) -> None:
    """A detect pass: compare the source's keys with the store's and mark the stream's
    live rows the source lacks deleted, unless the guard stops it. On PostgreSQL the key
    sets are compared on the hub's side (:func:`_detect_columnar`); elsewhere the source's
    keys are staged in the store and one ``UPDATE ... WHERE NOT EXISTS`` marks. The
    outcome goes into ``counts`` (``rows_deleted``, ``checks["deletes"]``) and into the
    run's ledger row in the same transaction as the marks; a stop raises FatalSyncError
    with the reason, having marked nothing."""
    started = time.perf_counter()
    entity = compiled.entity.name
    table = RECORD_TABLES[entity]
    mine = table.c.source == source.name
    outcome: dict[str, Any] = {"pass": DETECT}
    counts.checks["deletes"] = outcome
    if detect_columnar.usable(engine):
        _detect_columnar(engine, source, compiled, stream, run_id, counts, deletes, batch_size)
        return
    with engine.connect() as conn:
        live = int(
            conn.execute(
                select(func.count()).select_from(table).where(mine, table.c.deleted_at.is_(None))
            ).scalar_one()
        )
        conn.rollback()
        outcome["store_rows"] = live
        if live == 0:  # nothing to delete: no need to read every key
            outcome.update(deleted=0, seconds=round(time.perf_counter() - started, 3))
            return
        stage = _stage(conn, entity)
        conn.commit()
        try:
            seen = 0
            # the source's keys are read and mapped a batch ahead of their copy to the store
            ahead = Prefetch(lambda: source_keys(source, compiled, stream, batch_size), 2)
            try:
                for keys in ahead:
                    _put(conn, stage, keys)
                    conn.commit()
                    seen += keys.height
            finally:
                ahead.close()
            outcome["source_keys"] = seen
            _guard_empty(source.name, stream, seen, live)
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f'ANALYZE "{stage.name}"')
                # a table just loaded in bulk has no statistics yet, and the planner, taking
                # it for a few rows, would compare every row with every key (nested loop)
                conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
                # room for the keys' hash table (4 MB by default: a million keys spill)
                conn.exec_driver_sql(f"SET LOCAL work_mem = '{HASH_MEMORY}'")
            elif conn.dialect.name == "sqlite":
                cols = ", ".join(f'"{c.name}"' for c in stage.columns)
                conn.exec_driver_sql(
                    f'CREATE INDEX IF NOT EXISTS "ix{stage.name}" ON "{stage.name}" ({cols})'
                )
            deleted = conn.execute(
                update(table)
                .where(mine, table.c.deleted_at.is_(None), ~_matches(table, stage))
                .values(deleted_at=datetime.now(UTC), deleted_run_id=run_id)
            ).rowcount
            deleted = int(deleted or 0)
            outcome["would_delete"] = deleted
            _guard_share(source.name, stream, live, deleted, deletes.max_share)
            _record(conn, run_id, counts, deleted, started)
        finally:
            conn.rollback()  # a stopped pass marks nothing
            _drop(conn, stage)
            conn.commit()


def _detect_columnar(
    engine: Engine,
    source: Source,
    compiled: CompiledStream,
    stream: str,
    run_id: int,
    counts: runs.RunCounts,
    deletes: DeletesConfig,
    batch_size: int,
) -> None:
    """:func:`detect` on a PostgreSQL store: the key sets compared on the hub's side
    (:mod:`crm_core.pull.detect_columnar`), then only the keys gone marked, by key."""
    started = time.perf_counter()
    table = RECORD_TABLES[compiled.entity.name]
    mine = table.c.source == source.name
    outcome = counts.checks["deletes"]
    with engine.connect() as conn:
        any_live = conn.execute(
            select(literal(1)).where(mine, table.c.deleted_at.is_(None)).limit(1)
        ).first()
    if any_live is None:  # nothing to delete: no need to read every key
        outcome.update(store_rows=0, deleted=0, seconds=round(time.perf_counter() - started, 3))
        return
    with tempfile.TemporaryDirectory(prefix="crm-hub-detect-") as folder:
        found = detect_columnar.compare(
            engine,
            table,
            source.name,
            lambda: source_keys(source, compiled, stream, batch_size),
            batch_size,
            Path(folder),
        )
        live, seen, would = found.store_rows, found.source_keys, found.gone.rows
        outcome.update(store_rows=live, source_keys=seen)
        _guard_empty(source.name, stream, seen, live)
        outcome["would_delete"] = would
        _guard_share(source.name, stream, live, would, deletes.max_share)
        with engine.connect() as conn:
            try:
                deleted = sum(
                    _mark_keys(conn, table, source.name, keys, run_id)
                    for keys in found.gone.batches(0)
                )
                _record(conn, run_id, counts, deleted, started)
            finally:
                conn.rollback()  # a stopped pass marks nothing


def _mark_keys(conn: Connection, table: Table, source: str, keys: pl.DataFrame, run_id: int) -> int:
    """Mark deleted the live rows of ``keys``, one statement per key on the whole primary
    key (sent in a pipeline): each finds its row in the key index whatever the planner
    knows of the table (a table just loaded in bulk has no statistics, and a join with
    the keys could read it whole); return how many were."""
    names = list(keys.columns)
    stmt = (
        update(table)
        .where(
            table.c.source == bindparam("_source"),
            table.c.deleted_at.is_(None),
            *(table.c[k] == bindparam(f"_k_{k}") for k in names),
        )
        .values(deleted_at=bindparam("_at"), deleted_run_id=bindparam("_run"))
    )
    now = datetime.now(UTC)
    rows = [
        {"_source": source, "_at": now, "_run": run_id, **{f"_k_{k}": v for k, v in row.items()}}
        for row in keys.iter_rows(named=True)
    ]
    if not rows:
        return 0
    return int(conn.execute(stmt, rows).rowcount or 0)


def _record(
    conn: Connection, run_id: int, counts: runs.RunCounts, deleted: int, started: float
) -> None:
    """The pass's outcome into the counts and the run's ledger row; commit the marks."""
    outcome = counts.checks["deletes"]
    counts.rows_deleted += deleted
    outcome["deleted"] = deleted
    outcome["seconds"] = round(time.perf_counter() - started, 3)
    runs.record_deletes(conn, run_id, counts)
    conn.commit()


def _guard_empty(source: str, stream: str, seen: int, live: int) -> None:
    """Stop a pass whose source read nothing while the store holds rows."""
    if live and seen == 0:
        raise FatalSyncError(
            f"{source}.{stream}: the detect pass read no key at all from the source while "
            f"the store holds {live:,} of its rows; nothing was marked deleted (an empty "
            "read must not wipe the store)"
        )


def _guard_share(source: str, stream: str, live: int, would: int, max_share: float) -> None:
    """Stop a pass that would delete more than ``max_share`` of the stream's live rows (its
    marks are rolled back)."""
    if live and would / live > max_share:
        raise FatalSyncError(
            f"{source}.{stream}: the detect pass would mark {would:,} of {live:,} rows "
            f"deleted ({would / live:.1%}), more than deletes.max_share ({max_share:.0%}); "
            "nothing was marked deleted. If the source did delete them, raise max_share "
            "for one run"
        )
