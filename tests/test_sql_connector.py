"""The generic SQL connector on SQLite, PostgreSQL and MariaDB (real servers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

from connectors import connector_class, open_source
from connectors.sql import SqlConnector
from schemas.errors import ConfigError, RetriableError
from schemas.settings import SourceConfig

meta = MetaData()
ledger = Table(
    "LEDGER",
    meta,
    Column("CHGD", Integer, nullable=False),
    Column("CHGT", Integer, nullable=False),
    Column("KEY", String(8), primary_key=True),
    Column("NAME", String(40)),
)


def source_config(url: str, **stream: object) -> SourceConfig:
    spec = {"table": "LEDGER", "primary_key": ["KEY"], "cursor": ["CHGD", "CHGT"], **stream}
    return SourceConfig(kind="sql", url=url, mapping=Path("m.yaml"), streams={"ledger": spec})


def fill(url: str) -> list[tuple[int, int, str]]:
    """120 rows over 3 days, many sharing a (date, time) so ties on the cursor abound."""
    engine = create_engine(url)
    meta.drop_all(engine)
    meta.create_all(engine)
    rows = [(20250101 + i % 3, 100000 + (i % 4) * 10, f"K{i:04d}") for i in range(120)]
    with engine.begin() as conn:
        conn.execute(
            ledger.insert(),
            [{"CHGD": d, "CHGT": t, "KEY": k, "NAME": f"客户 {k}"} for d, t, k in rows],
        )
    engine.dispose()
    return sorted(rows)


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'src.db'}"
    return request.getfixturevalue("pg_url" if request.param == "postgres" else "mariadb_url")


def test_composite_cursor_reads_every_row_once_in_order_across_batches(url: str) -> None:
    expected = fill(url)
    with SqlConnector("erp", source_config(url)) as conn:
        batches = list(conn.read("ledger", None, batch_size=7))
        assert max(b.height for b in batches) == 7
        got = [tuple(r) for b in batches for r in b.select("CHGD", "CHGT", "KEY").iter_rows()]
        assert got == expected
        assert batches[0]["NAME"][0] == f"客户 {expected[0][2]}"
        # resume in the middle of a group of tied cursor values
        since = expected[50]
        after = [
            tuple(r)
            for b in conn.read("ledger", since, 7)
            for r in b.select("CHGD", "CHGT", "KEY").iter_rows()
        ]
        assert after == expected[51:]


def test_query_streams_read_like_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'src.db'}"
    everything = fill(url)
    query = 'SELECT "KEY", "CHGD", "CHGT" FROM "LEDGER" WHERE "CHGD" = 20250102'
    since = (20250102, 100010, "K0005")
    expected = [(k, d, t) for d, t, k in everything if d == 20250102 and (d, t, k) > since]
    with SqlConnector("erp", source_config(url, table=None, query=query)) as conn:
        rows = [r for b in conn.read("ledger", since, 10) for r in b.iter_rows()]
    assert rows == expected and len(rows) == 29


def test_check_reports_missing_tables_and_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'src.db'}"
    fill(url)
    cfg = SourceConfig(
        kind="sql",
        url=url,
        mapping=Path("m.yaml"),
        streams={
            "ledger": {"table": "LEDGER", "primary_key": ["KEY"], "cursor": ["UPDATED"]},
            "ghost": {"table": "NOPE", "primary_key": ["ID"]},
        },
    )
    with pytest.raises(ConfigError) as info, SqlConnector("erp", cfg) as conn:
        conn.check()
    problems = "\n".join(info.value.problems)
    assert "stream 'ghost'" in problems and "NOPE" in problems
    assert "stream 'ledger'" in problems


def test_unreachable_server_is_a_retriable_error_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ERP_URL", "postgresql+psycopg://sync:Sup3rSecret@127.0.0.1:1/erp")
    cfg = SourceConfig(
        kind="sql",
        url_env="ERP_URL",
        mapping=Path("m.yaml"),
        streams={"ledger": {"table": "LEDGER", "primary_key": ["KEY"]}},
    )
    with pytest.raises(RetriableError) as info, SqlConnector("erp", cfg) as conn:
        list(conn.read("ledger", None, 10))
    assert "Sup3rSecret" not in str(info.value)
    assert "127.0.0.1" in str(info.value) and "***" in str(info.value)


def test_connectors_are_found_by_entry_point_and_unknown_kinds_are_clear() -> None:
    assert connector_class("sql") is SqlConnector
    with pytest.raises(ConfigError, match=r"unknown connector kind 'sap'.*installed: .*sql"):
        connector_class("sap")
    cfg = SourceConfig(
        kind="sql",
        url="sqlite://",
        mapping=Path("m.yaml"),
        streams={"a": {"table": "A", "primary_key": ["ID"]}},
    )
    assert isinstance(open_source("erp", cfg), SqlConnector)


def test_a_stream_without_a_cursor_is_read_whole(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'src.db'}"
    fill(url)
    cfg = source_config(url, cursor=[])
    with SqlConnector("erp", cfg) as conn:
        rows = sum(b.height for b in conn.read("ledger", ("ignored",), 50))
    assert rows == 120


def test_columnar_postgres_reads_match_the_row_path(pg_url: str) -> None:
    from decimal import Decimal

    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'CREATE TABLE "MONEY" ("K" CHAR(6) PRIMARY KEY, "AMT" NUMERIC(15,2), "RAW" NUMERIC, '
            '"D" DATE, "TS" TIMESTAMPTZ, "N" TEXT)'
        )
        conn.exec_driver_sql(
            """INSERT INTO "MONEY" VALUES ('A1', 12.50, 1.23456789, '2025-01-31',
            '2025-01-31 08:00+08', '上海'), ('A2', NULL, 7, NULL, NULL, NULL)"""
        )
    engine.dispose()
    frames = {}
    for columnar in (True, False):
        cfg = SourceConfig(
            kind="sql",
            url=pg_url,
            mapping=Path("m.yaml"),
            options={"columnar": columnar},
            streams={"m": {"table": "MONEY", "primary_key": ["K"]}},
        )
        with SqlConnector("erp", cfg) as conn:
            assert conn.columnar_reads() is columnar
            [frames[columnar]] = list(conn.read("m", None, 10))
    fast, slow = frames[True], frames[False]
    assert fast.to_dicts() == slow.to_dicts()
    assert fast["AMT"][0] == Decimal("12.50") and fast["RAW"][0] == Decimal("1.23456789")
    assert fast["K"][0] == "A1    "  # CHAR padding is kept; mappings trim it
