"""A mapping run backwards: model values to a source system's own column values, for writes.

Push-back writes model values into a back-office system, so each transform of a writable
field needs an inverse: ``trim`` and case changes give the value as it is, implied
decimals multiply, legacy dates and times become their numbers in the mapping's time zone,
code tables are looked up backwards. A field whose transforms have no inverse (or a
constant) cannot be written, and saying so is an error naming the field.

:func:`read_values` goes the other way for single records: the source's current values
mapped to model values with the same expressions the sync uses, so push-back compares like
with like when it checks for conflicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from mappings.compile import CompiledStream, _field_expr
from mappings.legacy_dates import cyyddd, hhmmss, yyyymmdd
from mappings.spec import FieldMap
from mappings.transforms import Context
from schemas.errors import MappingError

Inverse = Callable[[Any, Any, Context], Any]


def _same(value: Any, arg: Any, ctx: Context) -> Any:
    return value


def _blank_for_none(value: Any, arg: Any, ctx: Context) -> Any:
    return "" if value is None else value


def _unimply(value: Any, places: int, ctx: Context) -> Any:
    if value is None:
        return None
    scaled = Decimal(str(value)).scaleb(int(places))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {places} decimal places")
    return int(scaled)


def _legacy_date(encode: Callable[[date], int]) -> Inverse:
    """The inverse of a legacy date transform: the date's number, 0 for no date."""

    def invert(value: Any, arg: Any, ctx: Context) -> int:
        if value is None:
            return 0
        return encode(value.date() if isinstance(value, datetime) else value)

    return invert


def _local(value: datetime, ctx: Context) -> datetime:
    return value.astimezone(ZoneInfo(ctx.timezone))


def _date_time(day: Inverse) -> Inverse:
    def invert(value: Any, arg: Any, ctx: Context) -> tuple[int, int]:
        if value is None:
            return 0, 0
        local = _local(value, ctx)
        return day(local.date(), arg, ctx), hhmmss(local.time())

    return invert


def _date_text(value: Any, fmt: str | None, ctx: Context) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _local(value, ctx).strftime(fmt) if fmt else value.isoformat()
    return value.strftime(fmt) if fmt else value.isoformat()


def _datetime_text(value: Any, fmt: str | None, ctx: Context) -> str | None:
    if value is None:
        return None
    local = _local(value, ctx)
    return local.strftime(fmt.replace("%.f", ".%f")) if fmt else local.isoformat()


def _flag(value: Any, arg: Any, ctx: Context) -> str | None:
    return None if value is None else ("Y" if value else "N")


def _crosswalk(value: Any, name: str, ctx: Context) -> Any:
    """The source's first code for a canonical code; a value that is no canonical code
    (an unmapped source code, kept as it came) goes back unchanged."""
    for code, canonical in (ctx.crosswalks or {}).get(name, {}).items():
        if canonical == value:
            return code
    return value


def _code(value: Any, table: str, ctx: Context) -> Any:
    if value is None:
        return None
    wanted = str(value).lower() if isinstance(value, bool) else str(value)
    for code, meaning in (ctx.code_tables or {}).get(table, {}).items():
        if str(meaning) == wanted:
            return code
    raise ValueError(f"{value!r} is not a value of code table {table!r}")


INVERSES: dict[str, Inverse] = {
    "trim": _blank_for_none,
    "rtrim": _blank_for_none,
    "ltrim": _blank_for_none,
    "upper": _same,
    "lower": _same,
    "nfkc": _same,
    "to_str": _same,
    "int": _same,
    "decimal": _same,
    "implied_decimals": _unimply,
    "yyyymmdd": _legacy_date(yyyymmdd),
    "cyyddd": _legacy_date(cyyddd),
    "yyyymmdd_hhmmss": _date_time(_legacy_date(yyyymmdd)),
    "cyyddd_hhmmss": _date_time(_legacy_date(cyyddd)),
    "date": _date_text,
    "datetime": _datetime_text,
    "bool": _flag,
    "code": _code,
    "crosswalk": _crosswalk,
}


def _field_map(stream: CompiledStream, field: str) -> FieldMap:
    fmap = stream.spec.fields.get(field)
    if fmap is None:
        raise MappingError(
            f"stream {stream.stream!r} does not map model field {field!r}, so it cannot be "
            "written there"
        )
    if fmap.source is None:
        raise MappingError(
            f"stream {stream.stream!r}: {field} is a constant in the mapping, not a column "
            "that can be written"
        )
    return fmap


def writable(stream: CompiledStream, field: str) -> None:
    """Raise ``MappingError`` unless ``field`` can be written through ``stream``'s mapping."""
    fmap = _field_map(stream, field)
    missing = [t.name for t, _ in fmap.steps() if t.name not in INVERSES]
    if missing:
        raise MappingError(
            f"stream {stream.stream!r}: {field} cannot be written back, transform(s) "
            f"{', '.join(missing)} have no inverse"
        )


def to_source(stream: CompiledStream, values: Mapping[str, Any]) -> dict[str, Any]:
    """Model field values as the source's column values (``MappingError`` naming the field
    and reason if one cannot be turned back)."""
    out: dict[str, Any] = {}
    for field, value in values.items():
        writable(stream, field)
        fmap = _field_map(stream, field)
        current = value
        try:
            for transform, arg in reversed(fmap.steps()):
                current = INVERSES[transform.name](current, arg, stream.context)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise MappingError(
                f"stream {stream.stream!r}: {field} value {value!r} cannot be written as "
                f"{'/'.join(fmap.inputs)}: {exc}"
            ) from None
        if len(fmap.inputs) == 1:
            out[fmap.inputs[0]] = current
        else:
            out.update(zip(fmap.inputs, current, strict=True))
    return out


def source_columns(stream: CompiledStream, fields: list[str]) -> list[str]:
    """The source columns that hold ``fields``."""
    cols: list[str] = []
    for field in fields:
        cols += [c for c in _field_map(stream, field).inputs if c not in cols]
    return cols


def _dtype(value: Any) -> pl.DataType:
    if isinstance(value, bool):
        return pl.Boolean()
    if isinstance(value, int):
        return pl.Int64()
    if isinstance(value, Decimal):
        return pl.Decimal(38, 10)
    if isinstance(value, float):
        return pl.Float64()
    if isinstance(value, datetime):
        return pl.Datetime("us", "UTC" if value.tzinfo else None)
    if isinstance(value, date):
        return pl.Date()
    return pl.Utf8()


def read_values(
    stream: CompiledStream, raw: Mapping[str, Any], fields: list[str]
) -> dict[str, Any]:
    """One record's source values mapped to the model values of ``fields``, as the sync
    would map them (a value that fails its transforms reads as None)."""
    cols = source_columns(stream, fields)
    schema = {c: _dtype(raw.get(c)) for c in cols}
    frame = pl.DataFrame([[raw.get(c) for c in cols]], schema=schema, orient="row")
    return frame.select(_expressions(stream, tuple(fields), tuple(schema.items()))).row(
        0, named=True
    )


def _expressions(
    stream: CompiledStream, fields: tuple[str, ...], schema: tuple[tuple[str, pl.DataType], ...]
) -> list[pl.Expr]:
    """The fields' expressions for source columns of these types, built once per stream
    (kept on the stream object, which lives as long as its compiled mapping)."""
    cache: dict[Any, list[pl.Expr]] = stream.__dict__.setdefault("_read_values", {})
    key = (fields, schema)
    if key not in cache:
        cache[key] = [
            _field_expr(
                stream.spec.fields[f], stream.entity.fields[f], dict(schema), stream.context
            )[0].expr.alias(f)
            for f in fields
        ]
    return cache[key]
