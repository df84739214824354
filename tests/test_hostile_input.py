"""Bad input, tried for real: every hostile value ends as a clear quarantined row or is kept
verbatim; nothing crashes the batch, nothing is loaded wrong, nothing is lost."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from crm_core.ledger import runs
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES, quarantine
from sample_erps import scenario
from sample_erps.legacy_erp import pad
from sample_erps.legacy_erp_schema import ECH, ECL, RCM
from schemas.settings import load_config

SQL_NAME = "Robert'); DROP TABLE customers;--"
GBK_AS_LATIN1 = "上海华盛机械有限公司".encode("gbk").decode("latin-1")


def _customer(key: str, name: str) -> dict[str, object]:
    return {
        "CCUST": pad(key, 10), "CTYPE": "C", "CNME": name, "CTAXID": pad("", 20),
        "CEMAIL": pad("x@example.com", 60), "CPHON": pad("", 20), "CAD1": pad("", 40),
        "CAD2": pad("", 40), "CCITY": pad("", 30), "CSTE": pad("", 30), "CZIP": pad("", 10),
        "CCTRY": "CN", "CCUR": "CNY", "CSTAT": "A", "CCRDT": 120001,
        "CCHGD": 20260101, "CCHGT": 120000,
    }  # fmt: skip


def _order(number: int, **values: object) -> dict[str, object]:
    row = {
        "HORD": number, "HCUST": pad("C010001", 10), "HEDTE": 126001, "HRDTE": 20260115,
        "HSTAT": "E", "HCUR": "CNY", "HTOTL": 1000, "HCHGD": 20260101, "HCHGT": 120000,
    }  # fmt: skip
    return {**row, **values}


def _line(order: int, **values: object) -> dict[str, object]:
    row = {
        "LORD": order, "LLINE": 1, "LPROD": pad("BRG0001-10", 15), "LDESC": pad("轴承", 40),
        "LQORD": 5000, "LPRIC": 123400, "LNETA": 617, "LSTAT": "E",
        "LCHGD": 20260101, "LCHGT": 120000,
    }  # fmt: skip
    return {**row, **values}


def _insert_raw(conn, table, rows: list[dict[str, object]]) -> None:
    """Insert values as they are, past SQLAlchemy's type processing (as a broken writer would)."""
    names = list(rows[0])
    columns = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" for _ in names)
    conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})',
        [tuple(r[n] for n in names) for r in rows],
    )


@pytest.fixture
def hostile_erp(tmp_path: Path):
    """The demo's sample ERP, with hostile rows added the way a broken system writes them."""
    counts = scenario.prepare(tmp_path, seed=5, customers=30, as_of=date(2026, 3, 1))["legacy_erp"]
    erp = scenario.erp_engine(tmp_path)
    with erp.begin() as conn:
        _insert_raw(
            conn,
            RCM,
            [
                _customer("H1", SQL_NAME),
                _customer("   ", "blank key"),
                _customer("H3", "NUL\x00inside"),
                _customer("H4", GBK_AS_LATIN1),
                _customer("H5", "长" * 1_000_000),
                _customer("H6", "Bell\x07Company"),
            ],
        )
        _insert_raw(
            conn,
            ECH,
            [
                _order(900001, HTOTL="abc"),  # text in a numeric column
                _order(900002, HEDTE=126400),  # day 400 of 2026
                _order(900003, HRDTE=20260230),  # 30 February
                _order(900004),
            ],
        )
        _insert_raw(
            conn,
            ECL,
            [
                _line(900004, LLINE=1, LQORD=-5000),  # a negative quantity
                _line(900004, LLINE=2, LQORD=10**15),  # an absurd one
                _line(900004, LLINE=3, LPRIC="12.5"),  # a price with too many decimals
                _line(900004, LLINE=4),
            ],
        )
    config = load_config(tmp_path / scenario.CONFIG_NAME)
    store = open_store(config.store_url())
    yield SyncEngine(config, store), counts, erp
    erp.dispose()


def _held(store) -> dict[tuple[str, str], str]:
    with store.connect() as conn:
        return {(r.stream, r.record_key): r.reason for r in conn.execute(select(quarantine))}


def test_hostile_rows_are_quarantined_with_a_clear_reason(hostile_erp) -> None:
    engine, counts, _erp = hostile_erp
    results = {r.stream: r for r in engine.sync_source("legacy_erp")}
    assert all(r.status == "success" for r in results.values())
    held = _held(engine.store)
    assert "customer_id (from CCUST): required but empty" in held[("customers", "")]
    assert "control character" in held[("customers", "H3")]
    assert "control character" in held[("customers", "H6")]
    assert "GBK" in held[("customers", "H4")]
    assert "longer than 10,000 characters" in held[("customers", "H5")]
    assert "total_amount (from HTOTL): value 'abc'" in held[("orders", "900001")]
    assert "order_date (from HEDTE): value '126400'" in held[("orders", "900002")]
    assert "requested_date (from HRDTE): value '20260230'" in held[("orders", "900003")]
    assert "quantity: value '-5.0" in held[("order_lines", "900004|1")]
    assert "quantity: value '1000000000000" in held[("order_lines", "900004|2")]
    assert "more than 4 decimal places" in held[("order_lines", "900004|3")]
    # the good rows of the same batches were loaded, and the counts add up
    assert results["customers"].counts.rows_loaded == counts["customers"] + 1
    assert results["order_lines"].counts.rows_quarantined == 3
    for r in results.values():
        assert r.counts.rows_read == r.counts.rows_loaded + r.counts.rows_quarantined


def test_hostile_names_with_sql_are_stored_verbatim(hostile_erp) -> None:
    engine, _counts, _erp = hostile_erp
    engine.sync_source("legacy_erp", ["customers"])
    table = RECORD_TABLES["customers"]
    with engine.store.connect() as conn:
        name = conn.execute(select(table.c.name).where(table.c.customer_id == "H1")).scalar_one()
    assert name == SQL_NAME


def test_bad_input_schema_drift_new_column_is_reported_dropped_column_fails_clearly(
    hostile_erp,
) -> None:
    engine, _counts, erp = hostile_erp
    engine.sync_source("legacy_erp", ["orders", "inventory"])
    with erp.begin() as conn:
        conn.execute(text('ALTER TABLE "ECH" ADD COLUMN "HNOTE" VARCHAR(40)'))
        conn.execute(text('ALTER TABLE "ILI" DROP COLUMN "LIORD"'))
        conn.execute(text('UPDATE "ECH" SET "HCHGD" = 20260302 WHERE "HORD" = 900004'))
        conn.execute(text('UPDATE "ILI" SET "LCHGD" = 20260302'))
    orders, inventory = engine.sync_source("legacy_erp", ["orders", "inventory"])
    assert orders.status == "success" and orders.counts.rows_loaded == 1
    assert orders.counts.checks["schema_drift"] == {"added": ["HNOTE"], "removed": []}
    assert inventory.status == "failed"
    assert "schema drift" in (inventory.error or "") and "LIORD" in (inventory.error or "")
    [last] = runs.list_runs(engine.store, stream="orders", limit=1)
    assert last["checks"]["schema_drift"]["added"] == ["HNOTE"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_hostile_text_is_kept_exactly_or_refused_with_a_reason(value: str) -> None:
    from mappings.transforms import CONTROL_CHARS, MOJIBAKE, Check, Col, Context, coerce

    frame = pl.DataFrame({"a": pl.Series([value], dtype=pl.Utf8)})
    out = coerce(Col(pl.col("a"), pl.Utf8), "str", Context())
    masks = frame.select(
        [check[0].fill_null(False).alias(str(i)) for i, check in enumerate(out.checks)]
    )
    # the cheaper flags that count failed rows mark the same rows as the masks together
    flags = frame.select(
        [
            (c.flag if isinstance(c, Check) and c.flag is not None else c[0])
            .fill_null(False)
            .alias(str(i))
            for i, c in enumerate(out.checks)
        ]
    )
    kept = frame.select(out.expr.alias("v"))["v"][0]
    refused = any(masks.row(0))
    assert kept == value  # never altered silently
    expected = bool(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value)) or bool(
        re.search(r"[\x80-\xff]{4,}", value)
    )
    assert refused == expected, (CONTROL_CHARS, MOJIBAKE)
    assert any(flags.row(0)) == expected


#: U+001C-U+001F: white space to Python's ``str.strip``, not to Unicode (nor to polars)
INFORMATION_SEPARATORS = "\x1c\x1d\x1e\x1f"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=20), st.integers().map(str)))
def test_bad_input_text_in_an_integer_column_is_refused_never_guessed(value: str) -> None:
    from mappings.transforms import Col, Context, coerce

    frame = pl.DataFrame({"a": pl.Series([value], dtype=pl.Utf8)})
    out = coerce(Col(pl.col("a"), pl.Utf8), "int", Context())
    failed = frame.select(
        pl.any_horizontal([c[0].fill_null(False) for c in out.checks] or [pl.lit(False)])
    ).item()
    got = frame.select(out.expr.alias("v"))["v"][0]
    try:
        exact = int(value.strip())
    except ValueError:
        exact = None
    if set(value) & set(INFORMATION_SEPARATORS):
        exact = None  # Python's strip() takes them off the ends; they are not white space
    if exact is not None and -(2**63) <= exact < 2**63 and value.strip().lstrip("+-").isascii():
        assert (got, failed) == (exact, False)
    else:
        assert got is None  # no guessed number is ever loaded
