"""The contracts' great-expectations expectations, evaluated on a whole polars batch.

Measured on this project's 2-core machine: importing great-expectations takes 3 to 7 s per
process and validating a 10,000-row batch with a stream's suite about 80 ms, so GX in the
hot path costs more than half of a 1,000,000-row sync, and more than the whole of a small
incremental one. The expectations that the contracts use are therefore also evaluated
here, as polars expressions with GX's semantics (nulls are not unexpected except for
``not_be_null``; bounds are inclusive unless ``strict_min``/``strict_max``; ``mostly``
lets a batch pass when enough rows do; uniqueness marks every duplicate). A contract that
uses any other expectation is run by GX itself. ``tests/test_contract_engines.py`` runs both
engines on the same batches and requires the same rows to fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

#: An expectation compiled for one batch: the mask of its unexpected rows.
Unexpected = Callable[[pl.DataFrame], pl.Series]


def _not_null(kw: dict[str, Any]) -> pl.Expr:
    return pl.col(kw["column"]).is_null()


def _unique(kw: dict[str, Any]) -> pl.Expr:
    col = pl.col(kw["column"])
    return col.is_not_null() & col.is_duplicated()


def _compound_unique(kw: dict[str, Any]) -> pl.Expr:
    cols = [pl.col(c) for c in kw["column_list"]]
    all_missing = pl.all_horizontal([c.is_null() for c in cols])
    return ~all_missing & pl.struct(cols).is_duplicated()


def _in_set(kw: dict[str, Any]) -> pl.Expr:
    col = pl.col(kw["column"])
    return col.is_not_null() & ~col.is_in(list(kw["value_set"]))


def _bounded(value: pl.Expr, kw: dict[str, Any]) -> pl.Expr:
    outside = pl.lit(False)
    low, high = kw.get("min_value"), kw.get("max_value")
    if low is not None:
        outside = outside | (value <= low if kw.get("strict_min") else value < low)
    if high is not None:
        outside = outside | (value >= high if kw.get("strict_max") else value > high)
    return value.is_not_null() & outside


def _between(kw: dict[str, Any]) -> pl.Expr:
    return _bounded(pl.col(kw["column"]), kw)


def _lengths_between(kw: dict[str, Any]) -> pl.Expr:
    return _bounded(pl.col(kw["column"]).str.len_chars(), kw)


def _match_regex(kw: dict[str, Any]) -> pl.Expr:
    col = pl.col(kw["column"])
    return col.is_not_null() & ~col.str.contains(kw["regex"])


def _not_match_regex(kw: dict[str, Any]) -> pl.Expr:
    col = pl.col(kw["column"])
    return col.is_not_null() & col.str.contains(kw["regex"])


SUPPORTED: dict[str, Callable[[dict[str, Any]], pl.Expr]] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_unique": _unique,
    "expect_compound_columns_to_be_unique": _compound_unique,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_be_between": _between,
    "expect_column_value_lengths_to_be_between": _lengths_between,
    "expect_column_values_to_match_regex": _match_regex,
    "expect_column_values_to_not_match_regex": _not_match_regex,
}
#: Keyword arguments that change what fails; any other one sends the contract to GX.
KNOWN_KWARGS = {
    "column",
    "column_list",
    "value_set",
    "min_value",
    "max_value",
    "strict_min",
    "strict_max",
    "regex",
    "mostly",
}


def supports(name: str, kwargs: dict[str, Any]) -> bool:
    """Whether this module evaluates the expectation exactly as GX would."""
    return name in SUPPORTED and set(kwargs) <= KNOWN_KWARGS


def unexpected_rows(frame: pl.DataFrame, name: str, kwargs: dict[str, Any]) -> list[int]:
    """Positions of the rows that fail the expectation (none when ``mostly`` is met)."""
    mask = frame.select(SUPPORTED[name](kwargs).fill_null(False).alias("bad")).to_series()
    bad = int(mask.sum())
    if not bad:
        return []
    mostly = kwargs.get("mostly")
    if mostly is not None:
        if "column" in kwargs and name != "expect_column_values_to_not_be_null":
            counted = int(frame.get_column(kwargs["column"]).is_not_null().sum())
        else:
            counted = frame.height
        if counted and (counted - bad) / counted >= mostly:
            return []
    return mask.arg_true().to_list()
