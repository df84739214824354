"""JSON records to polars frames, typed cursors, and the order checks of incremental reads.

A position is a tuple: cursor values, then key values (see ``schemas.source``). REST APIs
filter with ``updated_since >= X`` on the first cursor value, so rows tied with the saved
position come back; :func:`after` drops every row at or before the position, comparing
the whole tuple (cursor, then key), so a tie is neither read twice nor skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from connectors.rest.options import Incremental, StreamOptions
from schemas.errors import FatalSyncError

ISO_ZONED = "%Y-%m-%dT%H:%M:%S%.f%z"
ISO_NAIVE = "%Y-%m-%dT%H:%M:%S%.f"


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted columns (``address.city``); lists as JSON text."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False)
        else:
            out[name] = value
    return out


def _series(name: str, values: list[Any]) -> pl.Series:
    try:
        series = pl.Series(name, values, strict=True)
    except (TypeError, OverflowError, pl.exceptions.PolarsError):
        numbers = all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
        )
        if numbers:
            return pl.Series(name, values, dtype=pl.Float64, strict=False)
        text = [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]
        return pl.Series(name, text, dtype=pl.Utf8)
    return series.cast(pl.Utf8) if series.dtype == pl.Null else series


def to_frame(records: Sequence[dict[str, Any]], columns: Sequence[str] = ()) -> pl.DataFrame:
    """Records as a frame: one column per field seen (and per declared column), each typed
    from its values; a column whose values do not share a type is kept as text."""
    flat = [flatten(r) for r in records]
    names = list(dict.fromkeys([*columns, *(k for r in flat for k in r)]))
    return pl.DataFrame([_series(n, [r.get(n) for r in flat]) for n in names])


def type_cursor(frame: pl.DataFrame, cursor: Sequence[str], options: StreamOptions) -> pl.DataFrame:
    """The cursor columns as ``cursor_type`` (timestamps as UTC), so that they compare as
    values, not as text; raises FatalSyncError naming the first value that does not parse."""
    kind = options.cursor_type
    exprs = []
    for name in cursor:
        col, dtype = pl.col(name), frame.schema[name]
        if kind == "datetime" and isinstance(dtype, pl.Datetime):
            expr = (
                col.dt.convert_time_zone("UTC")
                if dtype.time_zone
                else col.dt.replace_time_zone(options.cursor_timezone).dt.convert_time_zone("UTC")
            )
        elif kind == "datetime":
            text = (
                col.cast(pl.Utf8)
                .str.strip_chars()
                .str.replace(" ", "T")
                .str.replace(r"Z$", "+00:00")
            )
            aware = text.str.to_datetime(ISO_ZONED, strict=False, time_unit="us")
            naive = text.str.to_datetime(ISO_NAIVE, strict=False, time_unit="us")
            expr = pl.coalesce(
                aware.dt.convert_time_zone("UTC"),
                naive.dt.replace_time_zone(options.cursor_timezone).dt.convert_time_zone("UTC"),
            )
        elif kind == "date":
            expr = (
                col if dtype == pl.Date else col.cast(pl.Utf8).str.to_date("%Y-%m-%d", strict=False)
            )
        elif kind == "int":
            expr = col.cast(pl.Int64, strict=False)
        else:
            expr = col.cast(pl.Utf8)
        exprs.append(expr.alias(name))
    typed = frame.with_columns(exprs)
    for name in cursor:
        bad = frame.filter(typed[name].is_null() & frame[name].is_not_null())
        if bad.height:
            raise FatalSyncError(
                f"cursor field {name!r} has {bad[name][0]!r}, which is not a {kind} "
                f"(options.cursor_type)"
            )
    return typed


def require_values(frame: pl.DataFrame, columns: Sequence[str], key: Sequence[str]) -> None:
    """FatalSyncError when a record lacks a key or cursor field, naming the record."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FatalSyncError(
            f"the records have no field(s) {', '.join(missing)} (primary key / cursor); "
            f"they have: {', '.join(frame.columns[:30])}"
        )
    nulls = frame.filter(pl.any_horizontal(pl.col(c).is_null() for c in columns))
    if nulls.height:
        row = nulls.row(0, named=True)
        which = [c for c in columns if row[c] is None]
        ident = ", ".join(f"{k}={row.get(k)!r}" for k in key)
        raise FatalSyncError(f"record {ident} has no value in {', '.join(which)}")


def _lit(value: Any, dtype: pl.DataType) -> pl.Expr:
    return pl.lit(value).cast(dtype)


def greater(left: Sequence[pl.Expr], right: Sequence[pl.Expr]) -> pl.Expr:
    """``(l1, l2, ...) > (r1, r2, ...)`` compared left to right, as SQL row values are."""
    terms = []
    for i, (lhs, rhs) in enumerate(zip(left, right, strict=True)):
        equal_before = [a == b for a, b in zip(left[:i], right[:i], strict=True)]
        terms.append(pl.all_horizontal([*equal_before, lhs > rhs]))
    return pl.any_horizontal(terms)


def after(frame: pl.DataFrame, order_by: Sequence[str], position: Sequence[Any]) -> pl.Expr:
    """Rows strictly after ``position`` in ``order_by`` order."""
    cols = [pl.col(c) for c in order_by]
    values = [_lit(v, frame.schema[c]) for c, v in zip(order_by, position, strict=True)]
    return greater(cols, values)


class OrderGuard:
    """Checks that pages come in position order and drops what was already read.

    Rows at or before the start position are dropped (they come back because the filter
    is inclusive, or from a lookback). A row equal to the one before it is a page overlap
    (rows shifted while paging) and is dropped too. A row before the one before it means
    the API does not sort as declared: the read stops with a FatalSyncError instead of
    saving a position that would skip rows.
    """

    def __init__(self, order_by: Sequence[str], since: Sequence[Any] | None) -> None:
        self.order_by = list(order_by)
        self.since = tuple(since) if since is not None else None
        self.last: tuple[Any, ...] | None = None

    def admit(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of one page that are new, in order."""
        if self.since is not None and frame.height:
            frame = frame.filter(after(frame, self.order_by, self.since))
        if not frame.height:
            return frame
        cols = [pl.col(c) for c in self.order_by]
        if self.last is None:
            prev = [c.shift(1) for c in cols]
        else:
            prev = [
                c.shift(1, fill_value=_lit(v, frame.schema[n]))
                for c, n, v in zip(cols, self.order_by, self.last, strict=True)
            ]
        marks = frame.with_columns(
            greater(prev, cols).fill_null(False).alias("_back"),
            pl.all_horizontal([p == c for p, c in zip(prev, cols, strict=True)])
            .fill_null(False)
            .alias("_same"),
        )
        back = marks.filter(pl.col("_back"))
        if back.height:
            row = back.select(self.order_by).row(0)
            raise FatalSyncError(
                f"the API returned rows out of cursor order: {_show(row)} came after a later "
                f"row; declare options.sorted: false (or a sort parameter) for this stream"
            )
        frame = marks.filter(~pl.col("_same")).drop("_back", "_same")
        if frame.height:
            self.last = frame.select(self.order_by).row(-1)
        return frame


def _show(row: Sequence[Any]) -> str:
    return (
        "("
        + ", ".join(v.isoformat() if isinstance(v, datetime | date) else repr(v) for v in row)
        + ")"
    )


def sort_all(
    frames: Iterable[pl.DataFrame], order_by: Sequence[str], since: Sequence[Any] | None
) -> Iterator[pl.DataFrame]:
    """For APIs that do not sort: the whole read, sorted, without exact repeats, after
    ``since``. Memory holds every row read, so keep such streams' change sets small."""
    parts = [f for f in frames if f.height]
    if not parts:
        return
    whole = pl.concat(parts, how="diagonal_relaxed").unique(maintain_order=True)
    whole = whole.sort(list(order_by), maintain_order=True)
    if since is not None:
        whole = whole.filter(after(whole, order_by, since))
    yield whole


def rebatch(frames: Iterable[pl.DataFrame], batch_size: int) -> Iterator[pl.DataFrame]:
    """Frames of exactly ``batch_size`` rows (the last may be smaller), in order."""
    pending: list[pl.DataFrame] = []
    held = 0
    for frame in frames:
        if not frame.height:
            continue
        pending.append(frame)
        held += frame.height
        while held >= batch_size:
            whole = pl.concat(pending, how="diagonal_relaxed") if len(pending) > 1 else pending[0]
            yield whole.slice(0, batch_size)
            rest = whole.slice(batch_size)
            pending, held = ([rest] if rest.height else []), rest.height
    if held:
        yield pl.concat(pending, how="diagonal_relaxed") if len(pending) > 1 else pending[0]


def since_value(value: Any, options: Incremental, cursor_type: str, timezone: str) -> str:
    """The first cursor value of a position as the API's ``updated_since`` parameter."""
    back = options.lookback_seconds
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        moment -= timedelta(seconds=back)
        if options.format == "iso":
            return moment.astimezone(UTC).isoformat()
        if options.format == "epoch":
            return str(int(moment.timestamp()))
        if options.format == "epoch_ms":
            return str(int(moment.timestamp() * 1000))
        from zoneinfo import ZoneInfo

        return moment.astimezone(ZoneInfo(timezone)).strftime(options.format)
    if isinstance(value, date):
        day = value - timedelta(days=-(-back // 86400))
        return day.isoformat() if options.format == "iso" else day.strftime(options.format)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value - int(back))
    return str(value)
