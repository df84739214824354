"""Mapping transforms on good, bad and legacy values (property-based where it pays)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.transforms import TRANSFORMS, Col, Context, coerce

CTX = Context(timezone="Asia/Shanghai", code_tables={"st": {"E": "entered", "S": "shipped"}})


def run(name: str, values: list, arg=None, dtype=None, more: list | None = None):
    """Apply one transform; return (values, failed flags)."""
    columns = {"a": pl.Series(values, dtype=dtype, strict=False)}
    if more is not None:
        columns["b"] = pl.Series(more)
    frame = pl.DataFrame(columns)
    inputs = [Col(pl.col(c), frame.schema[c]) for c in frame.columns]
    out = TRANSFORMS[name].fn(inputs, arg, CTX)
    failed = pl.lit(False)
    for mask, _ in out.checks:
        failed = failed | mask.fill_null(False)
    result = frame.select(out.expr.alias("v"), failed.alias("f"))
    return result["v"].to_list(), result["f"].to_list()


def to_cyyddd(d: date) -> int:
    return (d.year - 1900) // 100 * 100_000 + (d.year % 100) * 1000 + d.timetuple().tm_yday


def test_trim_strips_padding_and_blank_is_no_value() -> None:
    assert run("trim", ["ACME    ", "   ", None, " 上海华东 "]) == (
        ["ACME", None, None, "上海华东"],
        [False] * 4,
    )


def test_cyyddd_known_dates_and_zero_as_no_date() -> None:
    values, failed = run("cyyddd", [125327, 99365, 100001, 0, 124366])
    assert values == [
        date(2025, 11, 23),
        date(1999, 12, 31),
        date(2000, 1, 1),
        None,
        date(2024, 12, 31),
    ]
    assert failed == [False] * 5


@pytest.mark.parametrize("bad", [125400, 125000, 125366, 1234567890, -5])
def test_cyyddd_day_400_and_other_impossible_days_fail(bad: int) -> None:
    assert run("cyyddd", [bad]) == ([None], [True])


def test_cyyddd_text_in_a_numeric_column_fails() -> None:
    assert run("cyyddd", ["12A327", "125327"]) == ([None, date(2025, 11, 23)], [True, False])


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2899, 12, 31)))
def test_cyyddd_round_trips_every_date(d: date) -> None:
    assert run("cyyddd", [to_cyyddd(d)]) == ([d], [False])


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)))
def test_yyyymmdd_round_trips_every_date(d: date) -> None:
    assert run("yyyymmdd", [int(d.strftime("%Y%m%d"))]) == ([d], [False])


@pytest.mark.parametrize("bad", [20250230, 20251301, 2025, 99999999])
def test_yyyymmdd_feb_30_and_month_13_fail(bad: int) -> None:
    assert run("yyyymmdd", [bad]) == ([None], [True])


def test_date_and_time_columns_become_an_aware_utc_timestamp() -> None:
    values, failed = run("yyyymmdd_hhmmss", [20251123, 20251123, 0], more=[101500, 246000, 0])
    assert values[0] == datetime(2025, 11, 23, 2, 15, tzinfo=UTC)  # Shanghai is UTC+8
    assert failed == [False, True, False] and values[1:] == [None, None]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=0, max_value=6))
def test_implied_decimals_are_exact(n: int, places: int) -> None:
    values, failed = run("implied_decimals", [n], arg=places)
    assert values == [Decimal(n).scaleb(-places)] and failed == [False]


def test_implied_decimals_reject_text() -> None:
    assert run("implied_decimals", ["12x", "  1234"], arg=2) == (
        [None, Decimal("12.34")],
        [True, False],
    )


def test_code_table_maps_known_codes_and_rejects_unknown() -> None:
    assert run("code", ["E ", "S", "Q", None, "  "], arg="st") == (
        ["entered", "shipped", None, None, None],
        [False, False, True, False, False],
    )


def test_bool_flags() -> None:
    assert run("bool", ["Y", "n", "1", "maybe", " "]) == (
        [True, False, True, None, None],
        [False, False, False, True, False],
    )


def test_nfkc_folds_full_width_digits_and_letters() -> None:
    assert run("nfkc", ["１３８ＡＢＣ"])[0] == ["138ABC"]


def test_datetime_takes_naive_text_in_the_mapping_zone_and_keeps_offsets() -> None:
    values, failed = run("datetime", ["2025-01-01 08:00:00", "2025-01-01T08:00:00+00:00", "soon"])
    assert values[:2] == [
        datetime(2025, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2025, 1, 1, 8, 0, tzinfo=UTC),
    ]
    assert failed == [False, False, True]


def test_sql_injection_text_is_kept_verbatim() -> None:
    name = "Robert'); DROP TABLE customers;--"
    assert run("trim", [f"  {name}  "]) == ([name], [False])


def test_coerce_rejects_more_than_four_decimal_places() -> None:
    frame = pl.DataFrame({"a": ["1.23456", "2.5", "abc"]})
    col = coerce(Col(pl.col("a"), pl.Utf8), "decimal", CTX)
    masks = [c[0].fill_null(False) for c in col.checks]
    out = frame.select(col.expr.alias("v"), pl.any_horizontal(masks).alias("f"))
    assert out["f"].to_list() == [True, False, True]
    assert out["v"][1] == Decimal("2.5000")


def test_a_failed_transform_names_itself_and_what_it_expected() -> None:
    """`int` on a DATE column fails as "not an integer (transform int)", not as "not a
    date": the reason names the step that failed, not the field type it was headed for."""
    from mappings import compile_mapping
    from mappings.spec import MappingFile

    mapping = MappingFile.model_validate(
        {
            "system": "erp",
            "streams": {
                "kunden": {
                    "entity": "customers",
                    "fields": {
                        "customer_id": "nr",
                        "name": {"value": "ACME"},
                        "created_on": {"from": "angelegt", "transforms": ["int"]},
                        "active": {"from": "aktiv"},
                    },
                }
            },
        }
    )
    raw = pl.DataFrame(
        {"nr": ["1", "2"], "angelegt": [date(2026, 5, 29), None], "aktiv": ["J", "vielleicht"]}
    )
    out = compile_mapping(mapping).stream("kunden").apply(raw)
    reasons = dict(zip(out.rejects["nr"], out.rejects["_reason"], strict=True))
    assert reasons["1"] == (
        "created_on (from angelegt): value '2026-05-29' is not an integer (transform int)"
    )
    assert reasons["2"] == (
        "active (from aktiv): value 'vielleicht' is not a yes/no flag (field type bool)"
    )


def test_int_does_not_turn_a_date_into_its_day_count() -> None:
    assert run("int", [date(2026, 5, 29)], dtype=pl.Date) == ([None], [True])
