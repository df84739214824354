"""NUMERIC columns of a PostgreSQL table read as the server's text, for columnar reads.

ADBC's driver turns each NUMERIC value of the binary COPY stream into text itself, and that
was most of a read's time in the hub: 1,000,000 order lines with three NUMERIC columns took
1.7 s of the hub's CPU, 0.6 s without those columns, and 0.8 s with the server writing them
as text (``numeric_out``) and the driver only copying the bytes. So a ``SELECT *`` of a table
is written with its columns listed, each NUMERIC one as ``CAST(col AS TEXT)`` under its own
name, and :func:`to_decimal` makes those exact decimals again: the precision and scale the
column declares (so that a mapping knows no value can overflow or need rounding), or (an
unconstrained NUMERIC) the most decimals a batch's values have. The columns come from
the catalogue (``pg_attribute``, one query on the read's own connection); a query stream,
a table the catalogue does not show, or a server without PostgreSQL's catalogue, is read as
it was.
"""

from __future__ import annotations

import typing
from typing import Any

import polars as pl
from sqlalchemy import Select, TableClause, Text, cast, column
from sqlalchemy.dialects import postgresql

#: The OID of PostgreSQL's NUMERIC type.
NUMERIC_OID = 1700
#: The precision of the decimals NUMERIC values become (polars' and Arrow's largest).
PRECISION = 38

_COLUMNS_SQL = (
    "SELECT a.attname::text AS name, a.atttypid = {oid} AS is_numeric, a.atttypmod AS typmod "
    "FROM pg_catalog.pg_attribute a WHERE a.attrelid = to_regclass({relation}) "
    "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
)


def as_text(conn: Any, stmt: Select[Any]) -> tuple[Select[Any], dict[str, pl.Decimal | None]]:
    """``stmt`` with a table's NUMERIC columns selected as text, and the decimal type each
    declares (None: unconstrained) by name; ``stmt`` itself and no columns when it does not
    select ``*`` of one table, or the table has no NUMERIC column."""
    relation = _star_of_one_table(stmt)
    if relation is None:
        return stmt, {}
    literal = _literal(relation)
    if literal is None:
        return stmt, {}
    try:
        rows = _rows(conn, _COLUMNS_SQL.format(oid=NUMERIC_OID, relation=literal))
    except Exception:  # noqa: BLE001 - a catalogue this server does not have: read as written
        return stmt, {}
    if not any(is_numeric for _, is_numeric, _ in rows):
        return stmt, {}
    scales = {name: declared(typmod) for name, is_numeric, typmod in rows if is_numeric}
    listed: list[Any] = [
        cast(column(name), Text).label(name) if name in scales else column(name)
        for name, _, _ in rows
    ]
    rewritten: Select[Any] = stmt.with_only_columns(*listed, maintain_column_froms=False)
    return rewritten, scales


def to_decimal(frame: pl.DataFrame, types: dict[str, pl.Decimal | None]) -> pl.DataFrame:
    """The NUMERIC columns :func:`as_text` had sent as text, as exact decimals again."""
    columns = []
    for name, dtype in types.items():
        if name in frame.columns and frame.schema[name] == pl.String:
            text = frame.get_column(name)
            columns.append(text.cast(dtype or pl.Decimal(PRECISION, scale_of(text))))
    return frame.with_columns(columns) if columns else frame


def scale_of(text: pl.Series) -> int:
    """The scale of an unconstrained NUMERIC column sent as text: the most decimals any of
    its values has (0 when all are null or whole)."""
    point = text.str.find(".", literal=True)
    decimals = (text.str.len_bytes() - point - 1).max()
    return decimals if isinstance(decimals, int) and decimals > 0 else 0


def declared(typmod: int) -> pl.Decimal | None:
    """The decimal type a NUMERIC type modifier declares: ``numeric(p, s)`` is
    ``Decimal(p, s)``; None for ``numeric`` without one, and for a scale that is negative or
    larger than the precision (PostgreSQL 15 allows both, polars neither): the values say."""
    if typmod < 4:
        return None
    precision, scale = divmod(typmod - 4, 1 << 16)
    return pl.Decimal(precision, scale) if 0 <= scale <= precision <= PRECISION else None


def _star_of_one_table(stmt: Select[Any]) -> str | None:
    """The table ``stmt`` selects ``*`` of, as the SQL names it, or None."""
    selected = list(stmt.selected_columns)
    if len(selected) != 1 or str(selected[0]) != "*":
        return None
    froms = stmt.get_final_froms()
    if len(froms) != 1 or not isinstance(froms[0], TableClause):
        return None
    return str(postgresql.dialect().identifier_preparer.format_table(froms[0]))


def _literal(value: str) -> str | None:
    """``value`` as a quoted SQL string (None without psycopg 3.2 to quote it)."""
    try:
        from psycopg import sql as pgsql

        return pgsql.Literal(value).as_string(None)
    except (ImportError, TypeError, AttributeError):
        return None


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a small query on an ADBC connection."""
    import adbc_driver_manager as adbc

    with adbc.AdbcStatement(conn) as statement:
        statement.set_sql_query(sql)
        stream, _ = statement.execute_query()
        if hasattr(pl, "scan_arrow_c_stream"):
            frame = pl.scan_arrow_c_stream(stream).collect()
        else:  # an older polars: through pyarrow's reader
            import pyarrow as pa

            table = pa.RecordBatchReader.from_stream(stream).read_all()
            frame = typing.cast(pl.DataFrame, pl.from_arrow(table))  # a table: a DataFrame
    return frame.rows()
