"""The write path of the SQL connectors (generic SQL and DB2): one change, one transaction.

The record is read by key with ``SELECT ... FOR UPDATE`` (where the database locks rows),
the caller decides on its current values, and only then is it updated (or inserted) in
the same transaction, so nothing the back office does can slip in between the check and
the write. Writing the same values again finds them there and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Insert,
    Select,
    TableClause,
    Update,
    and_,
    column,
    func,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.exc import IntegrityError

from connectors.errors import first_line, is_duplicate_key
from schemas.errors import ConfigError, InvalidRecord, RetriableError
from schemas.source import Decide, StreamSpec, WriteOutcome, WriteRequest, missing_record


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


def _key_equals(dialect: str, col: ColumnClause[Any], value: Any) -> ColumnElement[bool]:
    """``col = value``; on SQLite, which keeps the blanks a CHAR column is padded with and
    compares them, trailing blanks are ignored as every other database does for CHAR."""
    if dialect == "sqlite" and isinstance(value, str):
        return func.rtrim(col) == value.rstrip()
    return col == value


@dataclass(frozen=True)
class WriteStatements:
    """The statements of one write: lock and read the record, then update or insert it."""

    read: Select[Any]
    update: Update
    insert: Insert


def _locked(dialect: str, stmt: Select[Any]) -> Select[Any]:
    """The read that locks the record until the transaction ends. Db2 spells it itself:
    ``FOR UPDATE WITH RS`` (an update lock kept to commit; ibm_db_sa cannot compile
    SQLAlchemy 2's ``with_for_update``); the others ``FOR UPDATE`` where they have it."""
    if dialect == "ibm_db_sa":
        return stmt.suffix_with("FOR UPDATE WITH RS")
    return stmt.with_for_update()


def statements(dialect: str, spec: StreamSpec, request: WriteRequest) -> WriteStatements:
    """The SQL a write sends, for the dialect named (SQLAlchemy's name of it)."""
    values = dict(request.values)
    keys = dict(request.key)
    target = target_table(spec, list(dict.fromkeys([*keys, *request.read_columns])))
    where = and_(*(_key_equals(dialect, target.c[k], v) for k, v in keys.items()))
    return WriteStatements(
        read=_locked(dialect, select(*(target.c[c] for c in request.read_columns)).where(where)),
        update=update(target).where(where).values(values),
        insert=insert(target).values({**keys, **values}),
    )


def decide_and_write(
    request: WriteRequest,
    decide: Decide,
    read: Callable[[], Sequence[Any] | None],
    write: Callable[[bool], None],
) -> WriteOutcome:
    """The steps of one write inside the caller's transaction: ``read`` the record's row
    (None: no such record), let ``decide`` judge its values, then ``write(insert)`` on
    ``write``. Updating a record that is gone is a conflict, not an insert
    (:func:`schemas.source.missing_record`)."""
    row = read()
    current = dict(zip(request.read_columns, row, strict=True)) if row is not None else None
    decision = decide(current)
    if decision == "write" and current is None:
        decision = missing_record(request.create)
    if decision == "write":
        write(current is None)
    return WriteOutcome(decision, current)


def write_record(
    conn: Connection, spec: StreamSpec, request: WriteRequest, decide: Decide
) -> WriteOutcome:
    """Apply one change to the stream's table in one transaction on ``conn`` (kept open
    between writes by the connector), if ``decide`` says so."""
    sql = statements(conn.dialect.name, spec, request)
    inserted = False

    def write(insert: bool) -> None:
        nonlocal inserted
        inserted = insert
        _execute(conn, sql.insert if insert else sql.update)

    try:
        with conn.begin():
            return decide_and_write(request, decide, lambda: conn.execute(sql.read).first(), write)
    except IntegrityError as exc:
        if inserted and is_duplicate_key(exc):
            # another writer inserted the same key between our read and our insert: the
            # next attempt reads it and decides again
            raise RetriableError(
                f"stream {spec.name!r}: record {dict(request.key)} appeared meanwhile"
            ) from exc
        # a constraint of the target refuses the values: no retry will change that
        raise InvalidRecord(
            f"stream {spec.name!r}: record {dict(request.key)} refused by the target: "
            f"{first_line(exc)}"
        ) from exc


def _execute(conn: Connection, stmt: Insert | Update) -> None:
    conn.execute(stmt)
