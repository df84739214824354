"""New changes' rows in the outbox (``hub_outbox``, ``hub_outbox_targets``), and their
insert: one statement for a whole batch of changes.

On PostgreSQL a batch is one ``INSERT ... SELECT FROM json_to_recordset(...)`` with one
parameter, the rows as a JSON array: the statement's text is the same whatever the batch's
size, so neither SQLAlchemy nor the driver renders or parses ten thousand rows of
placeholders, and no value is adapted one by one in Python.
Elsewhere (SQLite) it is one executemany of a cached statement. A change whose
idempotency key is taken (also by a concurrent transaction that has just committed) is
left out, not an error: the caller answers it with the change stored first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Insert, Integer, Table, insert
from sqlalchemy.dialects import postgresql, sqlite

from crm_core.store.tables import outbox, outbox_targets
from crm_core.store.types import UTCDateTime
from schemas.pushback import PushState

#: A delivery of a change: target, stream, record key, the target's key values.
Delivery = tuple[str, str, str, dict[str, Any]]


def outbox_row(
    change_id: str,
    idempotency_key: str,
    golden_id: str | None,
    entity: str,
    op: str,
    record_key: str,
    changes: dict[str, dict[str, Any]],
    who: str,
    now: datetime,
) -> dict[str, Any]:
    """The ``outbox`` row of a new change, pending, made at ``now``."""
    return {
        "change_id": change_id,
        "idempotency_key": idempotency_key,
        "golden_id": golden_id,
        "entity": entity,
        "op": op,
        "record_key": record_key,
        "changes": changes,
        "who": who,
        "created_at": now,
        "state": PushState.PENDING,
        "attempts": 0,
        "updated_at": now,
    }


def target_rows(
    change_id: str, deliveries: Sequence[Delivery], now: datetime
) -> list[dict[str, Any]]:
    """The ``outbox_targets`` rows of a new change's deliveries, pending, made at ``now``."""
    return [
        {
            "change_id": change_id,
            "target": target,
            "record_key": key,
            "stream": stream,
            "target_key": target_key,
            "state": PushState.PENDING,
            "attempts": 0,
            "updated_at": now,
        }
        for target, stream, key, target_key in deliveries
    ]


def insert_new(conn: Connection, table: Table, *key: str) -> Insert:
    """An insert into ``table`` that inserts nothing (and returns no row) when a row with
    the same ``key`` exists, also one a concurrent transaction has just committed, instead
    of failing with a unique violation (PostgreSQL and SQLite; elsewhere a plain insert)."""
    dialect = {"postgresql": postgresql, "sqlite": sqlite}.get(conn.dialect.name)
    if dialect is None:
        return insert(table)
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(key))


def insert_changes(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert new changes' :func:`outbox_row` rows in one statement; the change ids stored
    (a change whose idempotency key is taken is not)."""
    if not rows:
        return set()
    if conn.dialect.name == "postgresql":
        sql, params = _recordset_insert(outbox, rows, conflict_key="idempotency_key")
        return {r[0] for r in conn.exec_driver_sql(sql + " RETURNING change_id", params)}
    stmt = insert_new(conn, outbox, "idempotency_key").returning(outbox.c.change_id)
    return {r[0] for r in conn.execute(stmt, rows)}


def insert_targets(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert new changes' :func:`target_rows` rows in one statement."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(*_recordset_insert(outbox_targets, rows))
    else:
        conn.execute(insert(outbox_targets), rows)


def _recordset_insert(
    table: Table, rows: list[dict[str, Any]], conflict_key: str | None = None
) -> tuple[str, dict[str, str]]:
    """PostgreSQL: ``INSERT INTO table (...) SELECT ... FROM json_to_recordset(rows)`` of
    the columns of ``rows`` (all rows have the same ones), and its one parameter: the rows
    as a JSON array (made by the json module's C encoder, parsed by the server)."""
    names = list(rows[0])
    columns = ", ".join(f"{name} {_json_type(table.c[name].type)}" for name in names)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(names)} "
        f"FROM json_to_recordset(%(rows)s::json) AS r({columns})"
    )
    if conflict_key is not None:
        sql += f" ON CONFLICT ({conflict_key}) DO NOTHING"
    return sql, {"rows": json.dumps(rows, default=_timestamp, ensure_ascii=False)}


def _json_type(column_type: Any) -> str:
    """The PostgreSQL type an outbox column's values are read from JSON as."""
    if isinstance(column_type, JSON):
        return "json"
    if isinstance(column_type, Integer):
        return "bigint"
    if isinstance(column_type, UTCDateTime):
        return "timestamptz"
    return "text"


def _timestamp(value: Any) -> str:
    """An aware timestamp as ISO 8601 (the store keeps aware timestamps only)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()
    raise TypeError(f"{value!r} cannot go into the outbox")
