"""The write path of the SQL connectors (generic SQL and DB2): one change, one transaction.

The record is read by key with ``SELECT ... FOR UPDATE`` (where the database locks rows),
the caller decides on its current values, and only then is it updated (or inserted) in
the same transaction, so nothing the back office does can slip in between the check and
the write. Writing the same values again finds them there and changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Engine,
    TableClause,
    and_,
    column,
    func,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.exc import IntegrityError

from schemas.errors import ConfigError, RetriableError
from schemas.source import Decide, StreamSpec, WriteOutcome, WriteRequest


def target_table(spec: StreamSpec, columns: list[str]) -> TableClause:
    """The table a stream writes to (its ``table``; a stream read by a query cannot be
    written), with the given columns."""
    name = spec.options.get("write_table") or spec.options.get("table")
    if not name:
        raise ConfigError(
            f"stream {spec.name!r} is read with a query: give it a table (or the option "
            "write_table) to write changes back to"
        )
    return table(name, *(column(c) for c in columns), schema=spec.options.get("schema"))


def _key_equals(engine: Engine, col: ColumnClause[Any], value: Any) -> ColumnElement[bool]:
    """``col = value``; on SQLite, which keeps the blanks a CHAR column is padded with and
    compares them, trailing blanks are ignored as every other database does for CHAR."""
    if engine.dialect.name == "sqlite" and isinstance(value, str):
        return func.rtrim(col) == value.rstrip()
    return col == value


def write_record(
    engine: Engine, spec: StreamSpec, request: WriteRequest, decide: Decide
) -> WriteOutcome:
    """Apply one change to the stream's table in one transaction, if ``decide`` says so."""
    values = dict(request.values)
    keys = dict(request.key)
    target = target_table(spec, list(dict.fromkeys([*keys, *values])))
    where = and_(*(_key_equals(engine, target.c[k], v) for k, v in keys.items()))
    wanted = [target.c[c] for c in values]
    try:
        with engine.begin() as conn:
            row = conn.execute(select(*wanted).where(where).with_for_update()).first()
            current = dict(zip(values, row, strict=True)) if row is not None else None
            decision = decide(current)
            if decision == "write":
                if current is None:
                    if not request.create:
                        return WriteOutcome("conflict", None)
                    conn.execute(insert(target).values({**keys, **values}))
                else:
                    conn.execute(update(target).where(where).values(values))
    except IntegrityError as exc:
        # another writer inserted the same key between our read and our insert: the next
        # attempt reads it and decides again
        raise RetriableError(f"stream {spec.name!r}: record {keys} appeared meanwhile") from exc
    return WriteOutcome(decision, current)
