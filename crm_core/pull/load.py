"""Bulk loads of mapped batches into the store: one upsert per batch, keyed by source + key.

PostgreSQL (psycopg 3) gets COPY (binary where the batch's types allow, see
:mod:`crm_core.pull.copy_binary`) into a temporary staging table and one ``MERGE`` from it
(PostgreSQL 15 and later; ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` before that, and
for a batch that meets a key another writer inserted meanwhile); other databases get a
multi-row ``INSERT ... ON CONFLICT`` through SQLAlchemy. Rows whose values did not change
are not rewritten, so re-running a window changes nothing. A first load, into a table that holds
nothing of the source yet, skips the upsert: plain COPY (or INSERT) into the table.

Loading a batch is bound by the server: parsing, checking and storing each row on the
first load, reaching each row's pages one key at a time on an upsert. So on PostgreSQL a
large batch is shared out (:class:`Spread`) over more connections, each writing the rows of
its share of the keys at the same time and committing just before the batch's own
transaction (the one that saves the position) does. A crash in between leaves rows loaded
whose position is not saved: the next run reads them again, and the upsert finds nothing
to change.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Table, and_, or_, select, text
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from crm_core.pull import copy_binary
from crm_core.store.tables import RECORD_TABLES
from crm_core.store.types import ExactDecimal, UTCDateTime

log = logging.getLogger("crm_hub.load")

STAGE_PREFIX = "_stage_"

#: Keys asked for in one query when checking references (well under SQLite's 32,766).
KEY_CHUNK = 5_000
#: How SQLAlchemy's DateTime stores a timestamp on SQLite (polars/chrono format).
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"
#: Batches smaller than this are written on their own connection alone (a share's
#: connection and thread cost more than they save).
SPREAD_MIN_ROWS = 2_000
#: PostgreSQL from which the upsert is a ``MERGE``: it reads each row's key and updates the
#: row, where ``ON CONFLICT`` first locks the row it finds, one more WAL record per row
MERGE_SINCE = (15,)

#: How a batch is written on one connection: COPY, an upsert, an INSERT.
Write = Callable[[Connection, Table, pl.DataFrame], None]


class Spread:
    """Extra connections of the store that take shares of a large batch.

    The rows are shared out by a hash of their key, so that no two connections touch the
    same row (no waits, no deadlocks); each share is written and committed on a connection
    of its own while the batch's own transaction writes the first share."""

    def __init__(self, engine: Engine, connections: int) -> None:
        self.engine = engine
        self.shares = max(1, connections)
        self._threads: ThreadPoolExecutor | None = None

    def split(self, frame: pl.DataFrame, keys: list[str]) -> list[pl.DataFrame]:
        """The batch in shares by key (one share when it is too small to spread)."""
        if self.shares == 1 or frame.height < SPREAD_MIN_ROWS:
            return [frame]
        share = frame.select(keys).hash_rows() % self.shares
        return [frame.filter(share == i) for i in range(self.shares)]

    def submit(self, write: Write, table: Table, frame: pl.DataFrame) -> Future[None]:
        """Write ``frame`` on another connection, committed when done."""
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.shares - 1, "crm-hub-load")

        def run() -> None:
            with self.engine.begin() as conn:
                write(conn, table, frame)

        return self._threads.submit(run)

    def close(self) -> None:
        """Stop the threads (after the shares under way)."""
        if self._threads is not None:
            self._threads.shutdown()
            self._threads = None


@dataclass
class Loader:
    """Loads one stream's batches for one source and run.

    With ``append`` (the store holds no rows of this source and entity yet, as on a first
    load) rows are inserted directly, without staging table or conflict handling; should a
    key exist after all, that batch is redone as an upsert and so are the later ones.
    """

    entity: str
    source: str
    run_id: int | None
    append: bool = False
    #: other connections that take shares of a large batch on PostgreSQL
    spread: Spread | None = None

    @property
    def table(self) -> Table:
        """The entity's record table."""
        return RECORD_TABLES[self.entity]

    def load(self, conn: Connection, frame: pl.DataFrame) -> int:
        """Write a mapped batch; return the number of rows sent."""
        if frame.height == 0:
            return 0
        frame = frame.with_columns(
            pl.lit(self.source).alias("source"),
            pl.lit(self.run_id, dtype=pl.Int64).alias("run_id"),
            pl.lit(datetime.now(UTC)).alias("loaded_at"),
            # a row read again exists again: the upsert clears a soft delete
            pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("deleted_at"),
            pl.lit(None, dtype=pl.Int64).alias("deleted_run_id"),
        ).select([c.name for c in self.table.columns])
        if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            insert, upsert = _copy_into, _copy_upsert
        elif conn.dialect.name == "sqlite" and _sqlite_ready(self.table, frame):
            insert, upsert = _sqlite_insert, _sqlite_upsert
        else:
            insert, upsert = _insert, _insert_upsert
        if self.append:
            try:
                with conn.begin_nested():
                    self._write(conn, insert, frame)
                return frame.height
            except (IntegrityError, conn.dialect.loaded_dbapi.IntegrityError):
                # a key the store has after all (COPY raises the driver's own error)
                self.append = False
        self._write(conn, upsert, frame)
        return frame.height

    def warm_up(self, engine: Engine) -> None:
        """Encode one made-up row for the table's binary COPY in a thread of its own, while
        the source reads the first batch: the first encoding in a process pages in the
        encoder's and Arrow's code (~15 ms, which the first batch's load would wait for)."""
        if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
            # not a daemon: one still encoding when the interpreter exits (a run with
            # nothing to load ends in 40 ms) would be cut inside Arrow's C++, an abort
            threading.Thread(target=_warm_up, args=(self.table,), name="crm-hub-warm-up").start()

    def _write(self, conn: Connection, write: Write, frame: pl.DataFrame) -> None:
        """Write the batch with ``write``: on PostgreSQL a large one in shares by key, all
        but the first on connections of their own, each committed when written."""
        if self.spread is None or write not in (_copy_into, _copy_upsert):
            write(conn, self.table, frame)
            return
        own, *others = self.spread.split(frame, _key_columns(self.table))
        shares = [self.spread.submit(write, self.table, share) for share in others]
        try:
            write(conn, self.table, own)
        finally:
            for share in shares:
                share.exception()  # every share is over before the batch goes on
        for share in shares:
            share.result()


def _warm_up(table: Table) -> None:
    try:
        copy_binary.warm_up(table)
    except Exception:  # only a head start: the load encodes its own rows
        log.debug("warming up the binary COPY of %s failed", table.name, exc_info=True)


def has_rows(conn: Connection, entity: str, source: str) -> bool:
    """Whether the store holds any row of ``entity`` from ``source``."""
    table = RECORD_TABLES[entity]
    return (
        conn.execute(select(table.c.source).where(table.c.source == source).limit(1)).first()
        is not None
    )


def known_keys(
    engine: Engine, entity: str, field: str, source: str, values: list[Any]
) -> pl.Series | None:
    """Which of ``values`` the store holds as ``entity.field`` for ``source`` (None if it
    holds no row of that entity from that source at all)."""
    table = RECORD_TABLES[entity]
    found: list[Any] = []
    with engine.connect() as conn:
        for start in range(0, len(values), KEY_CHUNK):
            chunk = values[start : start + KEY_CHUNK]
            found.extend(
                conn.execute(
                    select(table.c[field]).where(
                        table.c.source == source, table.c[field].in_(chunk)
                    )
                ).scalars()
            )
        if not found and not has_rows(conn, entity, source):
            return None
    return pl.Series(field, found, dtype=pl.Utf8)


def upsert_frame(
    conn: Connection, entity: str, frame: pl.DataFrame, source: str, run_id: int | None
) -> int:
    """Insert or update ``frame``'s rows of ``entity`` for ``source``; return rows sent."""
    return Loader(entity, source, run_id).load(conn, frame)


def _insert(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    conn.execute(table.insert(), frame.to_dicts())


def _sqlite_ready(table: Table, frame: pl.DataFrame) -> bool:
    """Whether the batch can skip SQLAlchemy's per-value processing: every timestamp column
    is timezone-aware (naive ones take the slow path, where they are refused)."""
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            dtype = frame.schema[column.name]
            if not (isinstance(dtype, pl.Datetime) and dtype.time_zone) and dtype != pl.Null:
                return False
    return True


def _sqlite_values(table: Table, frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """The batch as rows of the values SQLAlchemy would bind on SQLite, made for the whole
    batch at once: timestamps as naive UTC text, exact decimals as text, dates as text."""
    exprs = []
    for column in table.columns:
        col, dtype = pl.col(column.name), frame.schema[column.name]
        if isinstance(column.type, UTCDateTime) and isinstance(dtype, pl.Datetime):
            col = col.dt.convert_time_zone("UTC").dt.strftime(SQLITE_DATETIME)
        elif isinstance(column.type, ExactDecimal) and dtype != pl.Null:
            col = col.cast(pl.Utf8)
        elif dtype == pl.Date:
            col = col.dt.strftime("%Y-%m-%d")
        elif dtype == pl.Boolean:
            col = col.cast(pl.Int8)
        exprs.append(col.alias(column.name))
    return frame.select(exprs).rows()


def _sqlite_insert(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    sql = str(table.insert().compile(dialect=conn.dialect))
    conn.exec_driver_sql(sql, _sqlite_values(table, frame))


def _sqlite_upsert(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    keys = _key_columns(table)
    others = [c.name for c in table.columns if c.name not in keys]
    stmt = sqlite.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c: stmt.excluded[c] for c in others},
        where=_changed(table, stmt.excluded, others),
    )
    sql = str(stmt.compile(dialect=conn.dialect))
    conn.exec_driver_sql(sql, _sqlite_values(table, frame))


def _csv(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, quote_style="non_numeric", null_value="")
    return buffer.getvalue()


def copy_frame(conn: Connection, target: str, frame: pl.DataFrame) -> None:
    """COPY ``frame`` into the table ``target`` (PostgreSQL through psycopg 3)."""
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    data = _csv(frame)
    raw = conn.connection.driver_connection
    assert raw is not None  # None only once the connection is closed or invalidated
    with raw.cursor().copy(f'COPY "{target}" ({quoted}) FROM STDIN (FORMAT csv)') as copy:
        copy.write(data)


def copy_rows(conn: Connection, target: str, table: Table, frame: pl.DataFrame) -> None:
    """COPY ``frame``, rows of ``table``, into ``target`` (the table or its stage): in
    binary when every column has the table's type (:mod:`crm_core.pull.copy_binary`), else
    as CSV."""
    data = copy_binary.encode(table, frame)
    if data is None:
        copy_frame(conn, target, frame)
        return
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    raw = conn.connection.driver_connection
    assert raw is not None  # None only once the connection is closed or invalidated
    with raw.cursor().copy(f'COPY "{target}" ({quoted}) FROM STDIN (FORMAT binary)') as copy:
        copy.write(data)


def _copy_into(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    copy_rows(conn, table.name, table, frame)


def _key_columns(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _watched(columns: list[str]) -> list[str]:
    """The columns whose change makes a row worth rewriting (not the lineage of the load)."""
    return [c for c in columns if c not in ("run_id", "loaded_at")]


def _changed(table: Table, excluded: Any, columns: list[str]) -> Any:
    return or_(*(table.c[c].is_distinct_from(excluded[c]) for c in _watched(columns)))


def _insert_upsert(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    keys = _key_columns(table)
    others = [c.name for c in table.columns if c.name not in keys]
    rows = frame.to_dicts()
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        dialect_insert = sqlite.insert if name == "sqlite" else postgresql.insert
        stmt = dialect_insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c: stmt.excluded[c] for c in others},
            where=_changed(table, stmt.excluded, others),
        )
        conn.execute(stmt, rows)
    elif name in ("mysql", "mariadb"):
        mysql_stmt = mysql.insert(table)
        updates = {c: mysql_stmt.inserted[c] for c in others}
        conn.execute(mysql_stmt.on_duplicate_key_update(updates), rows)
    else:
        for row in rows:
            where = and_(*(table.c[k] == row[k] for k in keys))
            if not conn.execute(table.update().where(where).values(**row)).rowcount:
                conn.execute(table.insert().values(**row))


def _copy_upsert(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    stage = f"{STAGE_PREFIX}{table.name}"
    conn.execute(
        text(
            f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" '
            f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
        )
    )
    # empty already unless written before in this transaction (ON COMMIT DELETE ROWS):
    # DELETE costs nothing then, TRUNCATE gives the table a new file each time
    conn.execute(text(f'DELETE FROM "{stage}"'))
    copy_rows(conn, stage, table, frame)
    if _merges(conn):
        try:
            with conn.begin_nested():
                conn.execute(text(_merge_sql(table, stage)))
            return
        except (IntegrityError, conn.dialect.loaded_dbapi.IntegrityError):
            pass  # a key another writer inserted meanwhile: ON CONFLICT waits for it
    conn.execute(text(_on_conflict_sql(table, stage)))


def _merges(conn: Connection) -> bool:
    """Whether the server has MERGE (PostgreSQL 15 and later)."""
    version = conn.dialect.server_version_info
    return version is not None and version >= MERGE_SINCE


def _merge_sql(table: Table, stage: str) -> str:
    """The stage's rows into ``table`` by one ``MERGE``: changed rows updated, new ones
    inserted, unchanged ones left alone."""
    cols = [c.name for c in table.columns]
    keys = _key_columns(table)
    others = [c for c in cols if c not in keys]
    on = " AND ".join(f't."{k}" = s."{k}"' for k in keys)
    changed = " OR ".join(f't."{c}" IS DISTINCT FROM s."{c}"' for c in _watched(others))
    updates = ", ".join(f'"{c}" = s."{c}"' for c in others)
    quoted = ", ".join(f'"{c}"' for c in cols)
    values = ", ".join(f's."{c}"' for c in cols)
    return (
        f'MERGE INTO "{table.name}" AS t USING "{stage}" AS s ON {on} '
        f"WHEN MATCHED AND ({changed}) THEN UPDATE SET {updates} "
        f"WHEN NOT MATCHED THEN INSERT ({quoted}) VALUES ({values})"
    )


def _on_conflict_sql(table: Table, stage: str) -> str:
    """The stage's rows into ``table`` by ``INSERT ... ON CONFLICT DO UPDATE``."""
    cols = [c.name for c in table.columns]
    keys = _key_columns(table)
    others = [c for c in cols if c not in keys]
    quoted = ", ".join(f'"{c}"' for c in cols)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in others)
    distinct = " OR ".join(f't."{c}" IS DISTINCT FROM EXCLUDED."{c}"' for c in _watched(others))
    return (
        f'INSERT INTO "{table.name}" AS t ({quoted}) SELECT {quoted} FROM "{stage}" '
        f"ON CONFLICT ({', '.join(chr(34) + k + chr(34) for k in keys)}) "
        f"DO UPDATE SET {updates} WHERE {distinct}"
    )
