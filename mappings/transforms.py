"""Named, vectorised transforms a mapping file can apply to source columns.

Every transform works on a whole batch at once (polars expressions) and reports, per row,
whether it failed, so bad rows can be quarantined with a reason while the rest load.
A value that a legacy system uses to mean "no value" (blanks in a CHAR column, a zero
date) becomes null without being an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import polars as pl

DECIMAL_SCALE = 4
WIDE_SCALE = 10
WIDE_DECIMAL = pl.Decimal(38, WIDE_SCALE)
UTC = "UTC"
ISO_ZONED = "%Y-%m-%dT%H:%M:%S%.f%z"
ISO_NAIVE = "%Y-%m-%dT%H:%M:%S%.f"
#: C0 control characters other than tab, newline and carriage return (NUL among them:
#: PostgreSQL cannot store it, and none of them belongs in a name or an address).
CONTROL_CHARS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"
#: Four Latin-1 letters in a row: what GBK (or UTF-8) bytes look like when read as Latin-1
#: ("ÉÏº£" for 上海); real Latin names do not have them.
MOJIBAKE = r"[\x{80}-\x{FF}]{4,}"
#: Either of the two: one scan of the text finds the rows that fail one or the other.
CONTROL_OR_MOJIBAKE = f"{CONTROL_CHARS}|{MOJIBAKE}"
#: The two in Python's syntax, for texts known before any row is read.
_UNCLEAN = re.compile(CONTROL_CHARS + r"|[\x80-\xff]{4,}")
#: Longer text than this is refused: no field of the model needs it.
MAX_TEXT = 10_000
TRUE_WORDS = ("Y", "YES", "T", "TRUE", "1", "J")
FALSE_WORDS = ("N", "NO", "F", "FALSE", "0")


#: The ``flag`` of a check whose rows an earlier check of the same column flags already:
#: no scan of its own is needed to count failed rows.
ALREADY_FLAGGED = pl.lit(False)


class Check(NamedTuple):
    """One way a value can fail: the rows (``mask``) and the reason. ``flag``, when set,
    is a cheaper mask used to count failed rows: the flags of a column's checks together
    must mark the rows their masks mark together (one scan can flag for two checks)."""

    mask: pl.Expr
    why: str
    flag: pl.Expr | None = None


@dataclass(frozen=True)
class Col:
    """A column on its way through transforms: its value, its dtype, and a failure mask."""

    expr: pl.Expr
    dtype: pl.DataType
    checks: tuple[tuple[pl.Expr, str] | Check, ...] = ()
    #: rows whose code has no crosswalk entry (kept, not failed), and the code they have
    unmapped: tuple[pl.Expr, pl.Expr] | None = None
    #: text made from numbers: no control character, mojibake or overlong value can be in it
    numeric_text: bool = False
    #: the only values it can have (a code table's, known before any row is read); None: any
    values: frozenset[str] | None = None

    @property
    def clean_text(self) -> bool:
        """Whether no value can hold a control character, mojibake or an overlong text."""
        if self.values is not None:
            return all(clean(v) for v in self.values)
        return self.numeric_text or self.dtype.is_numeric()


def checked(expr: pl.Expr, dtype: pl.DataType, failed: pl.Expr, reason: str) -> Col:
    """A column with one failure mask and the reason shown for rows where it is true."""
    return Col(expr, dtype, ((failed, reason),))


@dataclass(frozen=True)
class Context:
    """What transforms may need from the mapping file: its time zone, code tables,
    crosswalks and the canonical codes of each code list."""

    timezone: str = UTC
    code_tables: Mapping[str, Mapping[str, Any]] | None = None
    crosswalks: Mapping[str, Mapping[str, str]] | None = None
    canonical: Mapping[str, frozenset[str]] | None = None


TransformFn = Callable[[list[Col], Any, Context], Col]


@dataclass(frozen=True)
class Transform:
    """A named transform: its function, how many input columns, and what its argument is."""

    name: str
    fn: TransformFn
    doc: str
    inputs: int = 1
    arg: type | None = None
    needs_arg: bool = False


def _failed(before: pl.Expr, after: pl.Expr, ignore: pl.Expr | None = None) -> pl.Expr:
    """Rows where a non-null input gave a null output (and the input is not a 'no value')."""
    mask = before.is_not_null() & after.is_null()
    return mask & ~ignore if ignore is not None else mask


def as_text(col: Col) -> pl.Expr:
    """The column as text, numbers without a trailing '.0'."""
    if col.dtype == pl.Utf8:
        return col.expr
    return col.expr.cast(pl.Utf8)


def as_int(col: Col) -> pl.Expr:
    """The column as Int64 (text is stripped first); failures become null.

    A date, time or timestamp is not an integer (polars would give its day or microsecond
    count), so it fails too."""
    if col.dtype.is_temporal():
        return pl.lit(None, dtype=pl.Int64)
    if col.dtype == pl.Utf8:
        return col.expr.str.strip_chars().cast(pl.Int64, strict=False)
    return col.expr.cast(pl.Int64, strict=False)


def _trim(cols: list[Col], arg: Any, ctx: Context, how: str = "both") -> Col:
    text = as_text(cols[0])
    stripped = {
        "both": text.str.strip_chars(),
        "right": text.str.strip_chars_end(),
        "left": text.str.strip_chars_start(),
    }[how]
    return Col(pl.when(stripped == "").then(None).otherwise(stripped), pl.Utf8())


def _text_op(op: Callable[[pl.Expr], pl.Expr]) -> TransformFn:
    return lambda cols, arg, ctx: Col(op(as_text(cols[0])), pl.Utf8())


def _to_str(cols: list[Col], arg: Any, ctx: Context) -> Col:
    return Col(as_text(cols[0]), pl.Utf8(), numeric_text=cols[0].dtype.is_numeric())


def _to_int(cols: list[Col], arg: Any, ctx: Context) -> Col:
    col = cols[0]
    if col.dtype.is_integer() and col.dtype != pl.UInt64:
        return Col(col.expr.cast(pl.Int64), pl.Int64())  # every value fits: nothing to check
    out = as_int(col)
    return checked(out, pl.Int64(), _failed(col.expr, out), "is not an integer")


def exact_in(dtype: pl.DataType, scale: int) -> bool:
    """Whether every value of ``dtype`` is a ``Decimal(38, scale)`` as it is: no rounding,
    no overflow (an integer, or a decimal with no more decimals and digits that fit)."""
    if dtype.is_integer():
        return scale <= 38 - 20  # UInt64's 20 digits
    if isinstance(dtype, pl.Decimal):
        digits, decimals = dtype.precision or 38, dtype.scale or 0
        return decimals <= scale and digits - decimals <= 38 - scale
    return False


def _decimal_of(col: Col) -> pl.Expr:
    src = col.expr.str.strip_chars() if col.dtype == pl.Utf8 else col.expr
    return src.cast(WIDE_DECIMAL, strict=False)


def _to_decimal(cols: list[Col], arg: Any, ctx: Context) -> Col:
    col = cols[0]
    if isinstance(col.dtype, pl.Decimal) and exact_in(col.dtype, WIDE_SCALE):
        return col  # an exact number already, and it fits: nothing to cast or check
    if exact_in(col.dtype, WIDE_SCALE):
        return Col(col.expr.cast(WIDE_DECIMAL), WIDE_DECIMAL)
    out = _decimal_of(col)
    return checked(out, WIDE_DECIMAL, _failed(col.expr, out), "is not a number")


def _implied_decimals(cols: list[Col], places: int, ctx: Context) -> Col:
    out = _decimal_of(cols[0]) / (10**places)
    return checked(out, WIDE_DECIMAL, _failed(cols[0].expr, out), "is not a number")


def _zero_is_null(col: Col) -> tuple[pl.Expr, pl.Expr]:
    """Integer value and a mask of 'no value' (0 or blank) for legacy numeric dates."""
    number = as_int(col)
    blank = (col.expr.str.strip_chars() == "" if col.dtype == pl.Utf8 else pl.lit(False)) | (
        number == 0
    )
    return number, blank.fill_null(False)


def _date_yyyymmdd(number: pl.Expr) -> pl.Expr:
    return number.cast(pl.Utf8).str.zfill(8).str.strptime(pl.Date, "%Y%m%d", strict=False)


def _date_cyyddd(number: pl.Expr) -> pl.Expr:
    century, yy, day = number // 100_000, (number // 1000) % 100, number % 1000
    year = 1900 + 100 * century + yy
    leap = ((year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))).cast(pl.Int64)
    valid = (number > 0) & (century <= 9) & (day >= 1) & (day <= 365 + leap)
    start = pl.date(year.clip(1900, 2899), 1, 1).cast(pl.Int32)
    return pl.when(valid).then((start + day - 1).cast(pl.Date)).otherwise(None)


def _time_hhmmss(number: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    h, m, s = number // 10_000, (number // 100) % 100, number % 100
    valid = (number >= 0) & (h < 24) & (m < 60) & (s < 60)
    return pl.duration(hours=h, minutes=m, seconds=s), valid


def _legacy_date(parse: Callable[[pl.Expr], pl.Expr], label: str) -> TransformFn:
    def fn(cols: list[Col], arg: Any, ctx: Context) -> Col:
        number, blank = _zero_is_null(cols[0])
        out = pl.when(blank).then(None).otherwise(parse(number))
        return checked(
            out, pl.Date(), _failed(cols[0].expr, out, blank), f"is not a valid {label} date"
        )

    return fn


def _legacy_datetime(parse: Callable[[pl.Expr], pl.Expr], label: str) -> TransformFn:
    def fn(cols: list[Col], arg: Any, ctx: Context) -> Col:
        number, blank = _zero_is_null(cols[0])
        day = parse(number)
        clock, clock_ok = _time_hhmmss(as_int(cols[1]).fill_null(0))
        local = pl.when(clock_ok).then(day.cast(pl.Datetime("us")) + clock).otherwise(None)
        out = pl.when(blank).then(None).otherwise(localize(local, ctx.timezone))
        return checked(
            out,
            pl.Datetime("us", UTC),
            _failed(cols[0].expr, out, blank),
            f"is not a valid {label} date with HHMMSS time",
        )

    return fn


def localize(naive: pl.Expr, timezone: str) -> pl.Expr:
    """A naive local timestamp in ``timezone`` as UTC (non-existent local times -> null)."""
    return naive.dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone(UTC)


def _date(cols: list[Col], fmt: str | None, ctx: Context) -> Col:
    col = cols[0]
    if col.dtype == pl.Date:
        return col
    if isinstance(col.dtype, pl.Datetime):
        return Col(col.expr.dt.date(), pl.Date())
    out = as_text(col).str.strip_chars().str.strptime(pl.Date, fmt or "%Y-%m-%d", strict=False)
    return checked(out, pl.Date(), _failed(col.expr, out), f"is not a date ({fmt or 'YYYY-MM-DD'})")


def _datetime(cols: list[Col], fmt: str | None, ctx: Context) -> Col:
    col, target = cols[0], pl.Datetime("us", UTC)
    if isinstance(col.dtype, pl.Datetime):
        if col.dtype.time_zone:
            return Col(col.expr.dt.convert_time_zone(UTC), target)
        return Col(localize(col.expr, ctx.timezone), target)
    if col.dtype == pl.Date:
        return Col(localize(col.expr.cast(pl.Datetime("us")), ctx.timezone), target)
    text = as_text(col).str.strip_chars()
    if fmt:
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
        out = parsed.dt.convert_time_zone(UTC) if "%z" in fmt else localize(parsed, ctx.timezone)
    else:  # ISO 8601, with or without fraction and offset, 'T' or blank between
        iso = text.str.replace(" ", "T").str.replace(r"Z$", "+00:00")
        aware = iso.str.to_datetime(ISO_ZONED, strict=False, time_unit="us")
        naive = iso.str.to_datetime(ISO_NAIVE, strict=False, time_unit="us")
        out = pl.coalesce(aware.dt.convert_time_zone(UTC), localize(naive, ctx.timezone))
    return checked(out, target, _failed(col.expr, out), "is not a timestamp")


def _boolean(cols: list[Col], arg: Any, ctx: Context) -> Col:
    col = cols[0]
    if col.dtype == pl.Boolean:
        return col
    word = as_text(col).str.strip_chars().str.to_uppercase()
    out = (
        pl.when(word.is_in(TRUE_WORDS))
        .then(True)
        .when(word.is_in(FALSE_WORDS))
        .then(False)
        .otherwise(None)
    )
    blank = (word == "").fill_null(False)
    return checked(out, pl.Boolean(), _failed(col.expr, out, blank), "is not a yes/no flag")


def _code(cols: list[Col], table: str, ctx: Context) -> Col:
    codes = dict((ctx.code_tables or {})[table])
    fallback = codes.pop("_default", None)
    key = as_text(cols[0]).str.strip_chars()
    values = [str(v) if v is not None else None for v in codes.values()]
    out = key.replace_strict(list(codes), values, default=fallback, return_dtype=pl.Utf8)
    blank = (key == "").fill_null(False)
    return Col(
        pl.when(blank).then(None).otherwise(out),
        pl.Utf8(),
        ((_failed(cols[0].expr, out, blank), f"is not a code of table {table!r}"),),
        values=frozenset(str(v) for v in [*values, fallback] if v is not None),
    )


def clean(text: str) -> bool:
    """Whether ``text`` passes the checks of a text field (no control character, no
    mojibake, not overlong): a code table's values are known before any row is read."""
    return len(text) <= MAX_TEXT and not _UNCLEAN.search(text)


def _crosswalk(cols: list[Col], name: str, ctx: Context) -> Col:
    """The canonical code of a source code; a code without an entry that is not canonical
    itself is kept as it is and flagged as unmapped (never a failure)."""
    table = dict((ctx.crosswalks or {}).get(name, {}))
    canonical = sorted((ctx.canonical or {}).get(name, frozenset()))
    key = as_text(cols[0]).str.strip_chars()
    key = pl.when(key == "").then(None).otherwise(key)
    known = key.is_in([*table, *canonical])
    out = key.replace(list(table), list(table.values())) if table else key
    return Col(out, pl.Utf8(), unmapped=((key.is_not_null() & ~known).fill_null(False), key))


TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in (
        Transform("trim", _trim, "strip blanks on both sides; an empty result is null"),
        Transform("rtrim", lambda c, a, x: _trim(c, a, x, "right"), "strip trailing blanks"),
        Transform("ltrim", lambda c, a, x: _trim(c, a, x, "left"), "strip leading blanks"),
        Transform("upper", _text_op(lambda e: e.str.to_uppercase()), "upper case"),
        Transform("lower", _text_op(lambda e: e.str.to_lowercase()), "lower case"),
        Transform(
            "nfkc",
            _text_op(lambda e: e.str.normalize("NFKC")),
            "Unicode NFKC: full-width letters and digits to half-width",
        ),
        Transform("to_str", _to_str, "the value as text (numbers without '.0')"),
        Transform("int", _to_int, "a whole number"),
        Transform("decimal", _to_decimal, "an exact decimal number"),
        Transform(
            "implied_decimals",
            _implied_decimals,
            "an integer with N implied decimal places (12345 with 2 -> 123.45)",
            arg=int,
            needs_arg=True,
        ),
        Transform(
            "yyyymmdd",
            _legacy_date(_date_yyyymmdd, "YYYYMMDD"),
            "a date stored as the number YYYYMMDD; 0 or blank is no date",
        ),
        Transform(
            "cyyddd",
            _legacy_date(_date_cyyddd, "CYYDDD"),
            "a Julian date CYYDDD (C=0: 19xx, C=1: 20xx); 0 or blank is no date",
        ),
        Transform(
            "yyyymmdd_hhmmss",
            _legacy_datetime(_date_yyyymmdd, "YYYYMMDD"),
            "a timestamp from two columns, YYYYMMDD and HHMMSS, in the mapping's time zone",
            inputs=2,
        ),
        Transform(
            "cyyddd_hhmmss",
            _legacy_datetime(_date_cyyddd, "CYYDDD"),
            "a timestamp from two columns, CYYDDD and HHMMSS, in the mapping's time zone",
            inputs=2,
        ),
        Transform("date", _date, "a date from text; the argument is a strptime format", arg=str),
        Transform(
            "datetime",
            _datetime,
            "a timestamp; naive values are taken in the mapping's time zone",
            arg=str,
        ),
        Transform("bool", _boolean, "a yes/no flag (Y/N, T/F, 1/0, true/false)"),
        Transform(
            "code",
            _code,
            "look the value up in a code table of the mapping",
            arg=str,
            needs_arg=True,
        ),
        Transform(
            "crosswalk",
            _crosswalk,
            "translate a source code to a canonical code by the mapping's crosswalks; "
            "a code without an entry is kept and counted as unmapped",
            arg=str,
            needs_arg=True,
        ),
    )
}


def coerce(col: Col, kind: str, ctx: Context) -> Col:
    """Cast a mapped column to the model field's kind, marking values that do not fit."""
    if kind == "str":
        text = as_text(col)
        if col.clean_text:
            return Col(text, pl.Utf8(), values=col.values)  # nothing to check
        return Col(
            text,
            pl.Utf8(),
            (
                Check(
                    text.str.contains(CONTROL_CHARS),
                    "contains a control character (NUL or another C0 code)",
                    text.str.contains(CONTROL_OR_MOJIBAKE),
                ),
                Check(
                    text.str.contains(MOJIBAKE),
                    "looks like Chinese (GBK) text decoded as Latin-1",
                    ALREADY_FLAGGED,
                ),
                Check(text.str.len_chars() > MAX_TEXT, f"is longer than {MAX_TEXT:,} characters"),
            ),
        )
    if kind == "int":
        return _to_int([col], None, ctx)
    if kind == "bool":
        return _boolean([col], None, ctx)
    if kind == "date":
        return _date([col], None, ctx)
    if kind == "datetime":
        return _datetime([col], None, ctx)
    if kind == "decimal":
        wide = col if col.dtype == WIDE_DECIMAL else _to_decimal([col], None, ctx)
        target = pl.Decimal(38, DECIMAL_SCALE)
        if exact_in(wide.dtype, DECIMAL_SCALE):  # no more decimals than the model keeps
            return Col(wide.expr.cast(target), target, wide.checks)
        rounded = wide.expr.round(DECIMAL_SCALE)
        too_fine = (rounded != wide.expr).fill_null(False)
        reason = f"has more than {DECIMAL_SCALE} decimal places"
        narrow = rounded.cast(pl.Decimal(38, DECIMAL_SCALE))
        return Col(narrow, pl.Decimal(38, DECIMAL_SCALE), (*wide.checks, (too_fine, reason)))
    raise ValueError(f"unknown field kind {kind!r}")
