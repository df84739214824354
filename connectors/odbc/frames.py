"""pyodbc rows to a polars DataFrame, column by column, typed by the cursor's description.

Building a frame row by row makes polars infer every value's type, a third of the read's
time; here each column is built once with the type the driver reports. DECIMAL goes
through its text (fixed point), cast in one vectorised step to a scale that holds every
value of the batch, so no digit is rounded away whatever scale the driver claims. A column
whose values do not fit its reported type is built as the SQL connector does (inferred, or
as text), so that the mapping can reject odd values instead of them being lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl

from connectors.sql import rows_to_frame

SIMPLE: dict[type, pl.DataType] = {
    int: pl.Int64(),
    float: pl.Float64(),
    str: pl.Utf8(),
    bool: pl.Boolean(),
    date: pl.Date(),
    datetime: pl.Datetime("us"),
    time: pl.Time(),
    bytes: pl.Binary(),
    bytearray: pl.Binary(),
}
MAX_PRECISION = 38


class DecimalText(str):
    """A DECIMAL value as the driver's text (see the MariaDB note in ``connector``); pyodbc
    then describes the column as text, so the values themselves say what they are."""

    __slots__ = ()


def to_frame(description: Sequence[Sequence[Any]], rows: Sequence[Any]) -> pl.DataFrame:
    """The rows of one batch as a DataFrame, columns named and typed as described."""
    names = [d[0] for d in description]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    series = []
    for (name, kind, *_), values in zip(description, columns, strict=True):
        try:
            if kind is Decimal or isinstance(_first(values), DecimalText):
                series.append(decimal_series(name, values))
            else:
                series.append(pl.Series(name, values, dtype=SIMPLE.get(kind), strict=True))
        except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
            series.append(rows_to_frame([name], [(v,) for v in values]).to_series())
    return pl.DataFrame(series)


def decimal_series(name: str, values: Sequence[Decimal | str | None]) -> pl.Series:
    """DECIMAL values (``Decimal`` or their text) as a polars Decimal with a scale that
    holds every value exactly."""
    text = pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.Utf8)
    if text.str.contains("[eE]").any():  # str(Decimal) writes 1E-7: fixed point instead
        text = pl.Series(name, [None if v is None else f"{Decimal(v):f}" for v in values])
    text = text.str.strip_chars()
    places = text.str.split(".").list.get(1, null_on_oob=True).str.len_chars().max()
    scale = places if isinstance(places, int) else 0  # None: every value is null
    if scale > MAX_PRECISION - 1:
        raise ValueError(f"column {name!r}: {scale} decimal places")
    return text.cast(pl.Decimal(MAX_PRECISION, scale), strict=True)


def _first(values: Sequence[Any]) -> Any:
    """The first value that is not None."""
    return next((v for v in values if v is not None), None)
