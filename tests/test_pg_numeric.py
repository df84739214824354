"""Columnar reads of a PostgreSQL table have the server write its NUMERIC columns as text,
and give back the same exact decimals as the row path, whatever the names and scales."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import create_engine

from connectors import pg_numeric
from connectors.sql import SqlConnector
from schemas.settings import SourceConfig

ROWS = """
INSERT INTO erp."Lines" VALUES
  ('A-1', 1, 12.50, 1.23456789, 3.5, 7, '2025-01-01 08:00+00'),
  ('A-2', 2, -0.01, 7, 0, NULL, '2025-01-01 08:00+00'),
  ('B-1', 3, NULL, NULL, 1234567.125, 9, '2025-01-02 09:30+00'),
  ('B-2', 4, 9999999999999.99, -42.000001, NULL, 1, '2025-01-03 10:00+00')
"""


@pytest.fixture
def lines(pg_url: str) -> str:
    """A table in a schema of its own, with a mixed-case name and columns named like SQL
    words, three kinds of NUMERIC among them."""
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA erp")
        conn.exec_driver_sql(
            'CREATE TABLE erp."Lines" ("Order" TEXT PRIMARY KEY, "select" INT, '
            '"AMT" NUMERIC(15,2), raw NUMERIC, qty NUMERIC(12,3), n INT, ts TIMESTAMPTZ)'
        )
        conn.exec_driver_sql(ROWS)
    engine.dispose()
    return pg_url


@pytest.fixture
def sent_as_text(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, pl.Decimal | None]]:
    """The NUMERIC columns (and scales) each columnar read has the server send as text."""
    sent: list[dict[str, pl.Decimal | None]] = []
    as_text = pg_numeric.as_text

    def spy(conn: Any, stmt: Any) -> Any:
        rewritten, scales = as_text(conn, stmt)
        sent.append(scales)
        return rewritten, scales

    monkeypatch.setattr(pg_numeric, "as_text", spy)
    return sent


def _config(url: str, columnar: bool, **stream: Any) -> SourceConfig:
    spec = {"table": "Lines", "schema": "erp", "primary_key": ["Order"], **stream}
    return SourceConfig(
        kind="sql",
        url=url,
        mapping=Path("m.yaml"),
        options={"columnar": columnar},
        streams={"lines": spec},
    )


def _read(config: SourceConfig, since: Any = None, batch: int = 10) -> list[dict[str, Any]]:
    with SqlConnector("erp", config) as conn:
        frames = list(conn.read("lines", since, batch))
    return pl.concat(frames, how="vertical_relaxed").to_dicts()


def test_numeric_columns_come_back_exact_from_text_on_every_read(
    lines: str, sent_as_text: list[dict[str, pl.Decimal | None]]
) -> None:
    rows = _read(_config(lines, columnar=False))
    whole = _read(_config(lines, columnar=True), batch=3)
    cursor = {"cursor": ["ts"]}
    since = _read(_config(lines, columnar=True, **cursor), since=("2025-01-01 08:00+00", "A-2"))
    declared = {"AMT": pl.Decimal(15, 2), "raw": None, "qty": pl.Decimal(12, 3)}
    assert sent_as_text == [declared] * 2
    assert whole == rows
    assert since == rows[2:]
    assert [r["AMT"] for r in whole] == [
        Decimal("12.50"),
        Decimal("-0.01"),
        None,
        Decimal("9999999999999.99"),
    ]
    assert whole[0]["raw"] == Decimal("1.23456789") and whole[3]["raw"] == Decimal("-42.000001")
    assert whole[2]["qty"] == Decimal("1234567.125") and whole[0]["select"] == 1


def test_a_query_stream_is_read_as_it_is_written(
    lines: str, sent_as_text: list[dict[str, pl.Decimal | None]]
) -> None:
    config = SourceConfig(
        kind="sql",
        url=lines,
        mapping=Path("m.yaml"),
        streams={
            "lines": {"query": 'SELECT "Order", "AMT" FROM erp."Lines"', "primary_key": ["Order"]}
        },
    )
    rows = _read(config)
    assert sent_as_text == [{}] and set(rows[0]) == {"Order", "AMT"}
    assert [r["AMT"] for r in rows] == [
        Decimal("12.50"),
        Decimal("-0.01"),
        None,
        Decimal("9999999999999.99"),
    ]


def test_a_catalogue_that_cannot_be_read_leaves_the_read_as_written(
    lines: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_catalogue(conn: Any, sql: str) -> Any:
        raise RuntimeError("relation pg_catalog.pg_attribute does not exist")

    monkeypatch.setattr(pg_numeric, "_rows", no_catalogue)
    rows = _read(_config(lines, columnar=False))
    assert _read(_config(lines, columnar=True), batch=3) == rows
    assert rows[3]["AMT"] == Decimal("9999999999999.99")
