"""Bulk loads of mapped batches into the store: one upsert per batch, keyed by source + key.

PostgreSQL (psycopg 3) gets COPY into a temporary staging table and one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE``; other databases get a multi-row
``INSERT ... ON CONFLICT`` through SQLAlchemy. Rows whose values did not change are not
rewritten, so re-running a window changes nothing.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, and_, or_, text
from sqlalchemy.dialects import mysql, postgresql, sqlite

from crm_core.store.tables import RECORD_TABLES

STAGE_PREFIX = "_stage_"


def upsert_frame(
    conn: Connection, entity: str, frame: pl.DataFrame, source: str, run_id: int | None
) -> int:
    """Insert or update ``frame``'s rows of ``entity`` for ``source``; return rows sent."""
    if frame.height == 0:
        return 0
    table = RECORD_TABLES[entity]
    frame = frame.with_columns(
        pl.lit(source).alias("source"),
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"),
        pl.lit(datetime.now(UTC)).dt.replace_time_zone("UTC").alias("loaded_at"),
    ).select([c.name for c in table.columns])
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy_upsert(conn, table, frame)
    else:
        _insert_upsert(conn, table, frame)
    return frame.height


def _key_columns(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _changed(table: Table, excluded: Any, columns: list[str]) -> Any:
    watched = [c for c in columns if c not in ("run_id", "loaded_at")]
    return or_(*(table.c[c].is_distinct_from(excluded[c]) for c in watched))


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
        stmt = mysql.insert(table)
        conn.execute(stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in others}), rows)
    else:
        for row in rows:
            where = and_(*(table.c[k] == row[k] for k in keys))
            if not conn.execute(table.update().where(where).values(**row)).rowcount:
                conn.execute(table.insert().values(**row))


def _copy_upsert(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    stage = f"{STAGE_PREFIX}{table.name}"
    cols = [c.name for c in table.columns]
    keys = _key_columns(table)
    quoted = ", ".join(f'"{c}"' for c in cols)
    conn.execute(
        text(
            f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" '
            f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
        )
    )
    conn.execute(text(f'TRUNCATE "{stage}"'))
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, quote_style="non_numeric", null_value="")
    raw = conn.connection.driver_connection
    with raw.cursor().copy(f'COPY "{stage}" ({quoted}) FROM STDIN (FORMAT csv)') as copy:
        copy.write(buffer.getvalue())
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in cols if c not in keys)
    watched = [c for c in cols if c not in keys and c not in ("run_id", "loaded_at")]
    distinct = " OR ".join(f't."{c}" IS DISTINCT FROM EXCLUDED."{c}"' for c in watched)
    conn.execute(
        text(
            f'INSERT INTO "{table.name}" AS t ({quoted}) SELECT {quoted} FROM "{stage}" '
            f"ON CONFLICT ({', '.join(chr(34) + k + chr(34) for k in keys)}) "
            f"DO UPDATE SET {updates} WHERE {distinct}"
        )
    )
