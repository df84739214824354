"""A detect pass's comparison on the hub's side, for a PostgreSQL store.

The store's live keys of the stream are read columnar (ADBC, Arrow) in a thread of their
own while the source's keys are read, both held in memory up to a million keys a side and
spilled by hash of the key to local files beyond (:mod:`crm_core.pull.keyspill`); an
anti-join (part by part once spilled) then gives the store's keys that the source lacks,
usually a handful, which :mod:`crm_core.pull.deletes` marks with one ``UPDATE`` on the
store's key index. The store is scanned once, its rows are never all updated, and memory
is bounded whatever the table's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import polars as pl
from sqlalchemy import URL, Engine, Table, select, text

from connectors import arrow_pg
from connectors.timeouts import libpq_params
from crm_core.pull.keyspill import KeySpill, key_schema, missing, parts_for
from crm_core.pull.prefetch import Prefetch
from crm_core.store.db import store_timeouts

#: Keys read in one batch at least, from the source and from the store: a key is a few
#: bytes, and each batch costs a mapping of its keys and a hash.
KEY_BATCH_ROWS = 100_000
#: Bytes a stored row of a record table takes at least (with its header): a table's size
#: over this overestimates its rows.
MIN_ROW_BYTES = 64
#: Planner settings of the store's key read on a table never counted (see store_read_url).
UNCOUNTED_PLAN = "-c enable_indexscan=off -c enable_bitmapscan=off"


def usable(engine: Engine) -> bool:
    """Whether the store can be compared this way: PostgreSQL, with the ADBC driver."""
    return engine.dialect.name == "postgresql" and arrow_pg.available()


@dataclass
class Comparison:
    """What a comparison found: keys read on each side, and the store's keys gone."""

    source_keys: int
    store_rows: int
    gone: KeySpill


class TableSize(NamedTuple):
    """About how many rows a table holds, and whether the planner counted them."""

    rows: float
    counted: bool


def estimated_rows(engine: Engine, table: Table) -> TableSize:
    """About how many rows the table holds, to size the parts: the planner's count, or for a
    table never counted (just loaded in bulk) its size over :data:`MIN_ROW_BYTES`, an
    estimate on the high side (more parts cost little; too few would make each large)."""
    with engine.connect() as conn:
        counted, size = conn.execute(
            text(
                "SELECT reltuples, pg_relation_size(oid) FROM pg_class "
                "WHERE oid = CAST(:name AS regclass)"
            ),
            {"name": table.name},
        ).one()
    if counted is not None and counted > 0:
        return TableSize(float(counted), True)
    return TableSize(float(size or 0) / MIN_ROW_BYTES, False)


def store_read_url(engine: Engine, size: TableSize) -> URL:
    """The store's URL for reading a source's live keys: with the store's timeouts, and for
    a table the planner never counted, index plans off. The read wants every live row of
    the source, which a sequential scan reads once; without statistics (a table just
    loaded in bulk, before autovacuum analyzes it) the planner guesses a few rows and scans
    the whole key index first, then the table (0.25 s against 0.15 s at 1,000,000 rows)."""
    params = libpq_params(store_timeouts(engine))
    if not size.counted:
        params["options"] = " ".join(filter(None, (params.get("options"), UNCOUNTED_PLAN)))
    return engine.url.update_query_dict(params)


def compare(
    engine: Engine,
    table: Table,
    source: str,
    source_keys: Callable[[], Iterable[pl.DataFrame]],
    batch_size: int,
    folder: Path,
) -> Comparison:
    """Read the source's keys (``source_keys``) and the store's live keys of ``source`` at
    the same time, and spill the store's keys the source lacks to ``folder/gone``."""
    schema = key_schema(table)
    size = estimated_rows(engine, table)
    parts = parts_for(size.rows)
    theirs = KeySpill(folder / "source", schema, parts, keep_keys=False)
    ours = KeySpill(folder / "store", schema, parts)
    gone = KeySpill(folder / "gone", schema, 1)
    columns = [table.c[name] for name in schema]
    stmt = select(*columns).where(table.c.source == source, table.c.deleted_at.is_(None))
    database = arrow_pg.Database(store_read_url(engine, size), builtin_types=True)

    def read_store() -> None:
        rows = max(batch_size, KEY_BATCH_ROWS)
        for frame in arrow_pg.read_batches(database, stmt, rows, whole=True):
            ours.add(frame)

    try:
        with ThreadPoolExecutor(1, "crm-hub-store-keys") as pool:
            store_read = pool.submit(read_store)
            ahead = Prefetch(source_keys, 2)
            try:
                for keys in ahead:
                    theirs.add(keys)
            finally:
                ahead.close()
            store_read.result()
    finally:
        theirs.close()
        ours.close()
        database.close()
    for frame in missing(ours, theirs):
        gone.add(frame)
    gone.close()
    return Comparison(theirs.rows, ours.rows, gone)
