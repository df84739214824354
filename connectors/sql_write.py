"""The write path of the SQL connectors (generic SQL and DB2): one change, one transaction,
or a batch of changes to different records in one (:func:`write_records`).

The record is read by key with ``SELECT ... FOR UPDATE`` (where the database locks rows),
the caller decides on its current values, and only then is it updated (or inserted) in
the same transaction, so nothing the back office does can slip in between the check and
the write. Writing the same values again finds them there and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
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
    bindparam,
    column,
    func,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from connectors.errors import first_line, is_duplicate_key
from schemas.errors import ConfigError, InvalidRecord, RetriableError
from schemas.source import (
    Decide,
    StreamSpec,
    Write,
    WriteOutcome,
    WriteRequest,
    missing_record,
)


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


def _plain_key(value: Any) -> Any:
    """A key value as compared: without the blanks a CHAR column is padded with."""
    return value.rstrip() if isinstance(value, str) else value


def write_records(
    conn: Connection, spec: StreamSpec, writes: Sequence[Write]
) -> list[WriteOutcome | Exception]:
    """Apply changes to different records of the stream's table in one transaction on
    ``conn``: one ``SELECT ... WHERE key IN (...) FOR UPDATE`` locks and reads them all, each
    is decided on its own row as :func:`write_record` decides it, and the updates go out
    together (one statement per set of columns, executed for many rows).

    If the transaction fails for one change (a constraint refusing its values, a key
    inserted meanwhile), it is rolled back, nothing of it written, and every change is
    written again on its own (:func:`write_record`), so each gets its own outcome or error.
    A lost connection is raised. Changes to the same record twice, or to a stream whose key
    has several columns, are written one at a time."""
    keys = [tuple(r.key) for r, _ in writes]
    plain = [_plain_key(next(iter(r.key.values()))) for r, _ in writes if len(r.key) == 1]
    if (
        len(writes) < 2
        or len(set(keys)) != 1
        or len(keys[0]) != 1
        or len(set(plain)) != len(writes)
    ):
        return _one_by_one(conn, spec, writes)
    try:
        return _in_one_transaction(conn, spec, writes, keys[0][0])
    except (OperationalError, InterfaceError):
        raise
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        return _one_by_one(conn, spec, writes)


def _one_by_one(
    conn: Connection, spec: StreamSpec, writes: Sequence[Write]
) -> list[WriteOutcome | Exception]:
    out: list[WriteOutcome | Exception] = []
    for request, decide in writes:
        try:
            out.append(write_record(conn, spec, request, decide))
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:  # noqa: BLE001 - this change's error, the others go on
            out.append(exc)
    return out


def _in_one_transaction(
    conn: Connection, spec: StreamSpec, writes: Sequence[Write], key_column: str
) -> list[WriteOutcome | Exception]:
    dialect = conn.dialect.name
    columns = list(dict.fromkeys(c for r, _ in writes for c in r.read_columns))
    target = target_table(spec, list(dict.fromkeys([key_column, *columns])))
    key_col = target.c[key_column]
    values = [r.key[key_column] for r, _ in writes]
    if dialect == "sqlite":
        where = func.rtrim(key_col).in_([_plain_key(v) for v in values])
    else:
        where = key_col.in_(values)
    read = _locked(dialect, select(key_col, *(target.c[c] for c in columns)).where(where))
    place = {c: i for i, c in enumerate(columns)}
    outcomes: list[WriteOutcome | Exception] = []
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    inserts: list[WriteRequest] = []
    with conn.begin():
        rows: dict[Any, Sequence[Any]] = {}
        for row in conn.execute(read):
            rows.setdefault(_plain_key(row[0]), row[1:])
        for request, decide in writes:
            found = rows.get(_plain_key(request.key[key_column]))

            def read_one(
                found: Sequence[Any] | None = found, request: WriteRequest = request
            ) -> Sequence[Any] | None:
                if found is None:
                    return None
                return tuple(found[place[c]] for c in request.read_columns)

            def write(insert: bool, request: WriteRequest = request) -> None:
                if insert:
                    inserts.append(request)
                else:
                    names = tuple(request.values)
                    params = {f"v{i}": request.values[c] for i, c in enumerate(names)}
                    updates[names].append({"k": request.key[key_column], **params})

            outcomes.append(decide_and_write(request, decide, read_one, write))
        key_param: Any = bindparam("k")
        key_match = (
            func.rtrim(key_col) == func.rtrim(key_param)
            if dialect == "sqlite"
            else (key_col == key_param)
        )
        for names, params in updates.items():
            stmt = (
                update(target)
                .where(key_match)
                .values({c: bindparam(f"v{i}") for i, c in enumerate(names)})
            )
            conn.execute(stmt, params)
        for request in inserts:
            _execute(conn, insert(target).values({**request.key, **request.values}))
    return outcomes
