"""The DB2 connector's SQL, compiled with the ibm_db_sa dialect and checked as text; its
settings (URL kinds, isolation, Airflow connections); and a real error of the IBM driver.

No Db2 server runs here (see tests/test_db2_live.py for the tests that need one): the SQL is
what the connector would send, compiled by the same dialect object it connects with.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("ibm_db_sa")

from connectors.db2 import Db2Connector
from schemas.errors import ConfigError
from schemas.settings import SourceConfig

DB2_URL = "db2+ibm_db://sync:Pa55word@db2.example.com:50000/ERPDB"
#: the leading ``>=`` gives Db2 a start key on an index over the cursor columns
KEYSET = (
    'WHERE "RCM"."CCHGD" >= ? AND ("RCM"."CCHGD" > ? '
    'OR "RCM"."CCHGD" = ? AND "RCM"."CCHGT" > ? '
    'OR "RCM"."CCHGD" = ? AND "RCM"."CCHGT" = ? AND "RCM"."CCUST" > ?) '
    'ORDER BY "RCM"."CCHGD", "RCM"."CCHGT", "RCM"."CCUST"'
)


def db2_source(monkeypatch: pytest.MonkeyPatch, **options: object) -> Db2Connector:
    monkeypatch.setenv("ERP_DB2_URL", DB2_URL)
    streams = options.pop("streams", None) or {
        "customers": {"table": "RCM", "primary_key": ["CCUST"], "cursor": ["CCHGD", "CCHGT"]}
    }
    cfg = SourceConfig(
        kind="db2", url_env="ERP_DB2_URL", mapping=Path("m.yaml"), options=options, streams=streams
    )
    return Db2Connector("erp", cfg)


def db2_sql(source: Db2Connector, stream: str, since: object, size: int) -> tuple[str, list]:
    """The page statement as the ibm_db_sa dialect renders it, and its parameters."""
    compiled = source.page_query(source.stream(stream), since, size).compile(
        dialect=source.engine.dialect
    )
    assert source.engine.dialect.name == "ibm_db_sa"
    params = compiled.construct_params()
    return " ".join(str(compiled).split()), [params[p] for p in compiled.positiontup]


def test_db2_page_is_a_keyset_on_the_composite_cursor_with_fetch_first_and_with_ur(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = db2_source(monkeypatch, isolation="UR")
    since = (20261120, 93015, "C010042   ")
    sql, params = db2_sql(source, "customers", since, 500)
    assert sql == f'SELECT * FROM "RCM" {KEYSET} FETCH FIRST 500 ROWS ONLY WITH UR'
    assert params == [20261120, 20261120, 20261120, 93015, 20261120, 93015, "C010042   "]
    # the first page has no predicate
    first, _ = db2_sql(source, "customers", None, 500)
    assert first == (
        'SELECT * FROM "RCM" ORDER BY "RCM"."CCHGD", "RCM"."CCHGT", "RCM"."CCUST" '
        "FETCH FIRST 500 ROWS ONLY WITH UR"
    )


def test_db2_isolation_defaults_to_the_servers_and_a_stream_can_choose_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    streams = {
        "customers": {"table": "RCM", "primary_key": ["CCUST"], "cursor": ["CCHGD", "CCHGT"]},
        "credit": {
            "table": "RCR",
            "schema": "ERPLIB",
            "primary_key": ["CCUST"],
            "options": {"isolation": "cs"},
        },
    }
    source = db2_source(monkeypatch, streams=streams)
    plain, _ = db2_sql(source, "customers", None, 10)
    assert plain.endswith("FETCH FIRST 10 ROWS ONLY") and "WITH" not in plain
    credit, _ = db2_sql(source, "credit", None, 10)
    assert credit == (
        'SELECT * FROM "ERPLIB"."RCR" ORDER BY "ERPLIB"."RCR"."CCUST" '
        "FETCH FIRST 10 ROWS ONLY WITH CS"
    )
    with pytest.raises(ConfigError) as info:
        db2_source(monkeypatch, isolation="DIRTY", isolaton="UR")
    assert info.value.problems == [
        "options.isolaton: unknown option (known: isolation, stand_in)",
        "options.isolation: 'DIRTY' is not one of UR, CS, RS, RR",
    ]


def test_db2_query_streams_and_the_check_probe_page_too(monkeypatch: pytest.MonkeyPatch) -> None:
    query = 'SELECT "HORD", "HCHGD", "HCHGT", "HSTAT" FROM "ECH" WHERE "HSTAT" <> \'X\''
    streams = {
        "orders": {"query": query, "primary_key": ["HORD"], "cursor": ["HCHGD", "HCHGT"]},
    }
    source = db2_source(monkeypatch, isolation="UR", streams=streams)
    sql, params = db2_sql(source, "orders", (20260101, 80000, 100001), 250)
    assert sql.startswith(f'SELECT * FROM ({query}) AS q WHERE q."HCHGD" >= ? AND (q."HCHGD" > ?')
    assert sql.endswith('ORDER BY q."HCHGD", q."HCHGT", q."HORD" FETCH FIRST 250 ROWS ONLY WITH UR')
    assert len(params) == 7
    probe = source.probe_query(source.stream("orders")).compile(dialect=source.engine.dialect)
    assert " ".join(str(probe).split()).endswith("FETCH FIRST 1 ROWS ONLY WITH UR")


def test_db2_kind_refuses_another_database_unless_it_is_a_declared_stand_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    streams = {"customers": {"table": "RCM", "primary_key": ["CCUST"]}}
    cfg = SourceConfig(kind="db2", url=url, mapping=Path("m.yaml"), streams=streams)
    with pytest.raises(ConfigError, match=r"kind db2 needs a db2\+ibm_db:// URL.*stand_in"):
        Db2Connector("erp", cfg).check()
    stand_in = cfg.model_copy(update={"options": {"stand_in": True, "isolation": "UR"}})
    source = Db2Connector("erp", stand_in)
    page = source.page_query(source.stream("customers"), None, 5)
    sql = str(page.compile(source.engine, compile_kwargs={"literal_binds": True}))
    # the isolation clause is Db2's alone; SQLite has no FETCH FIRST, so it gets LIMIT
    assert "WITH UR" not in sql and "LIMIT 5" in sql


def test_db2_url_from_an_airflow_connection_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    streams = {"customers": {"table": "RCM", "primary_key": ["CCUST"]}}
    cfg = SourceConfig(
        kind="db2", airflow_conn_id="erp_db2", mapping=Path("m.yaml"), streams=streams
    )
    with pytest.raises(ConfigError, match="set AIRFLOW_CONN_ERP_DB2"):
        _ = Db2Connector("erp", cfg).url
    monkeypatch.setenv(
        "AIRFLOW_CONN_ERP_DB2", "db2://sync:p%40ss%3Bw@db2.example.com:50001/ERPDB?SECURITY=SSL"
    )
    assert Db2Connector("erp", cfg).url == (
        "db2+ibm_db://sync:p%40ss%3Bw@db2.example.com:50001/ERPDB?SECURITY=SSL"
    )
    as_json = {
        "conn_type": "db2",
        "host": "db2.example.com",
        "login": "sync",
        "password": "p@ss",
        "port": 50000,
        "schema": "ERPDB",
    }
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB2", json.dumps(as_json))
    assert Db2Connector("erp", cfg).url == "db2+ibm_db://sync:p%40ss@db2.example.com:50000/ERPDB"
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DB2", "{not json p@ss")
    with pytest.raises(ConfigError) as info:
        _ = Db2Connector("erp", cfg).url
    assert "p@ss" not in str(info.value)


def test_db2_driver_refusing_a_login_without_password_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the bundled CLI driver itself refuses a user without a password (SQL30082N, real)
    monkeypatch.setenv("ERP_DB2_URL", "db2+ibm_db://sync@127.0.0.1:1/ERPDB")
    streams = {"customers": {"table": "RCM", "primary_key": ["CCUST"]}}
    cfg = SourceConfig(kind="db2", url_env="ERP_DB2_URL", mapping=Path("m.yaml"), streams=streams)
    with pytest.raises(ConfigError) as info, Db2Connector("erp", cfg) as source:
        source.check()
    message = str(info.value)
    assert "\n" not in message
    assert re.search(r"login to the Db2 server at 127\.0\.0\.1:1 as 'sync' failed", message)
    assert "SQL30082N" in message and "no password" in message


def test_push_back_writes_lock_the_record_then_update_it_in_db2_sql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors.sql_write import statements
    from schemas.source import WriteRequest

    source = db2_source(monkeypatch)
    request = WriteRequest(
        "customers", {"CCUST": "C010001"}, {"CPHON": "+86 21", "CCHGD": 20261123}, "k"
    )
    sql = statements(source.engine.dialect.name, source.stream("customers"), request)
    dialect = source.engine.dialect

    def text(stmt: object) -> str:
        return " ".join(str(stmt.compile(dialect=dialect)).split())  # type: ignore[attr-defined]

    assert text(sql.read) == (
        'SELECT "RCM"."CPHON", "RCM"."CCHGD" FROM "RCM" WHERE "RCM"."CCUST" = ? FOR UPDATE WITH RS'
    )
    assert text(sql.update) == 'UPDATE "RCM" SET "CPHON"=?, "CCHGD"=? WHERE "RCM"."CCUST" = ?'
    assert text(sql.insert) == 'INSERT INTO "RCM" ("CCUST", "CPHON", "CCHGD") VALUES (?, ?, ?)'
