"""The generic SQL connector on SQLite, PostgreSQL and MariaDB (real servers)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

from connectors import arrow_pg, connector_class, open_source
from connectors.sql import SqlConnector
from crm_core.store.db import create_store_engine
from schemas.errors import ConfigError, RetriableError
from schemas.settings import SourceConfig, Timeouts

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


def _big_keys_table(pg_url: str) -> None:
    """Keys past 2**31, a timestamp cursor with ties, a NUMERIC null in the first rows."""
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE big (id BIGINT PRIMARY KEY, amt NUMERIC(12,2), ts TIMESTAMPTZ NOT NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO big SELECT 5000000000 + g, CASE WHEN g > 3 THEN g * 1.5 END, "
            "timestamptz '2025-01-01 00:00+00' + (g / 2) * interval '1 minute' "
            "FROM generate_series(1, 9) AS g"
        )
    engine.dispose()


def _big_config(pg_url: str, columnar: bool) -> SourceConfig:
    return SourceConfig(
        kind="sql",
        url=pg_url,
        mapping=Path("m.yaml"),
        options={"columnar": columnar},
        streams={"big": {"table": "big", "primary_key": ["id"], "cursor": ["ts"]}},
    )


def test_postgres_read_paths_agree_resuming_mid_tie_with_a_null_only_numeric_batch(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from connectors import arrow_pg

    _big_keys_table(pg_url)
    since = (datetime(2025, 1, 1, 0, 1, tzinfo=UTC), 5000000002)  # mid-way through a tie
    reads = {}
    for path in ("columnar", "pyarrow", "rows"):
        if path == "pyarrow":  # a polars without its own Arrow stream reader
            monkeypatch.setattr(arrow_pg, "_native_reader", lambda: None)
        with SqlConnector("erp", _big_config(pg_url, path != "rows")) as conn:
            batches = list(conn.read("big", since, 3))
        reads[path] = pl.concat(batches, how="vertical_relaxed").to_dicts()
    assert [r["id"] for r in reads["rows"]] == list(range(5000000003, 5000000010))
    assert reads["columnar"] == reads["rows"] == reads["pyarrow"]
    assert reads["columnar"][0]["amt"] is None  # a batch of only nulls, then the values
    assert reads["columnar"][-1]["amt"] == Decimal("13.50")


def test_postgres_keyset_is_one_row_comparison_and_elsewhere_starts_an_index_range() -> None:
    from sqlalchemy.dialects import mysql, postgresql

    def where(url: str, dialect: object) -> str:
        with SqlConnector("erp", source_config(url)) as conn:
            stmt = conn.query(conn.stream("ledger"), (20250101, 100000, "K0001"))
        return " ".join(str(stmt.compile(dialect=dialect)).split()).split(" WHERE ")[1]

    assert where("postgresql://h/db", postgresql.dialect()).startswith(
        '("LEDGER"."CHGD", "LEDGER"."CHGT", "LEDGER"."KEY") > ('
    )
    assert where("mysql+pymysql://h/db", mysql.dialect()).startswith(
        "`LEDGER`.`CHGD` >= %s AND (`LEDGER`.`CHGD` > %s OR"
    )


def test_columnar_reads_load_neither_pyarrow_nor_numpy(pg_url: str) -> None:
    """Arrow goes from the driver to polars through the C stream interface: a run does not
    pay pyarrow's and numpy's import (~0.2 s and ~70 MB), a no-op run least of all."""
    import subprocess
    import sys

    _big_keys_table(pg_url)
    code = (
        "import sys, datetime\n"
        "from tests.test_sql_connector import SqlConnector, _big_config\n"
        f"with SqlConnector('erp', _big_config({pg_url!r}, True)) as conn:\n"
        "    assert conn.columnar_reads()\n"
        "    since = (datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC), 5000000001)\n"
        "    rows = sum(b.height for b in conn.read('big', since, 4))\n"
        "print(rows, sorted({'pyarrow', 'numpy'} & set(sys.modules)))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["8", "[]"]


def test_a_column_type_polars_cannot_read_is_a_clear_error(pg_url: str) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE spans (id INT PRIMARY KEY, span INTERVAL)")
        conn.exec_driver_sql("INSERT INTO spans VALUES (1, interval '1 day')")
    engine.dispose()
    cfg = SourceConfig(
        kind="sql",
        url=pg_url,
        mapping=Path("m.yaml"),
        streams={"spans": {"table": "spans", "primary_key": ["id"]}},
    )
    with (
        pytest.raises(ConfigError, match=r"column type polars cannot read.*interval"),
        SqlConnector("erp", cfg) as conn,
    ):
        list(conn.read("spans", None, 10))


def _count_adbc_opens(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The ADBC databases opened from now on, in order (each opened for real)."""
    import adbc_driver_postgresql

    opened: list[object] = []
    real = adbc_driver_postgresql.connect

    def connect(uri: str, db_kwargs: dict[str, str] | None = None) -> object:
        opened.append(real(uri, db_kwargs=db_kwargs))
        return opened[-1]

    monkeypatch.setattr(adbc_driver_postgresql, "connect", connect)
    return opened


def test_the_streams_of_a_postgres_source_share_one_adbc_database(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening an ADBC database loads the server's type catalogue (~35 ms): once per source,
    not once per stream; closing the connector releases it."""
    import adbc_driver_manager

    _big_keys_table(pg_url)
    opened = _count_adbc_opens(monkeypatch)
    cfg = SourceConfig(
        kind="sql",
        url=pg_url,
        mapping=Path("m.yaml"),
        streams={
            "big": {"table": "big", "primary_key": ["id"], "cursor": ["ts"]},
            "again": {"table": "big", "primary_key": ["id"]},
        },
    )
    with SqlConnector("erp", cfg) as conn:
        assert [sum(b.height for b in conn.read(s, None, 4)) for s in ("big", "again")] == [9, 9]
        partial = conn.read("big", None, 4)
        next(partial)  # a reader that stopped early, still open when the connector closes
    [database] = opened
    adbc_driver_manager.AdbcConnection(database).close()  # kept open for the open read
    partial.close()  # the last open read releases it
    with pytest.raises(adbc_driver_manager.ProgrammingError, match="not initialized"):
        adbc_driver_manager.AdbcConnection(database)


def _opening_threads_done() -> None:
    for thread in threading.enumerate():
        if thread.name == "crm-hub-adbc-open":
            thread.join(10)


def test_a_source_prepared_ahead_reads_the_same_and_leaves_no_handle_open(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``prepare`` opens the ADBC database while the engine opens its run: the read after
    it uses that handle (one opened, same rows); a source closed right after ``prepare``
    leaves no handle open; against a server that is not there ``prepare`` raises nothing
    and the read reports it as it would have."""
    import adbc_driver_manager

    _big_keys_table(pg_url)
    opened = _count_adbc_opens(monkeypatch)
    cfg = _big_config(pg_url, columnar=True)
    with SqlConnector("erp", cfg) as conn:
        conn.prepare("big")
        _opening_threads_done()
        assert len(opened) == 1
        assert sum(b.height for b in conn.read("big", None, 4)) == 9
    assert len(opened) == 1
    late: list[threading.Thread] = []

    class Late(threading.Thread):
        def start(self) -> None:  # only once the source is closed
            late.append(self)

    monkeypatch.setattr(arrow_pg, "threading", SimpleNamespace(Thread=Late, Lock=threading.Lock))
    with SqlConnector("erp", cfg) as conn:
        conn.prepare("big")
    for thread in late:
        threading.Thread.start(thread)
        thread.join(10)
    assert len(late) == 1
    for database in opened:
        with pytest.raises(adbc_driver_manager.ProgrammingError, match="not initialized"):
            adbc_driver_manager.AdbcConnection(database)

    monkeypatch.setenv("ERP_URL", "postgresql+psycopg://sync:Sup3rSecret@127.0.0.1:1/erp")
    gone = cfg.model_copy(update={"url": None, "url_env": "ERP_URL"})
    with pytest.raises(RetriableError) as info, SqlConnector("erp", gone) as conn:
        conn.prepare("big")
        list(conn.read("big", None, 10))
    assert "Sup3rSecret" not in str(info.value) and "127.0.0.1" in str(info.value)


def test_postgres_types_of_the_databases_own_read_as_on_the_row_path(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Columnar reads start with a handle that knows the built-in types only (no ~35 ms
    type catalogue load); an enum column makes the read run again with the server's
    catalogue, whole reads (pyarrow's reader) and reads from a position (polars') alike."""
    import adbc_driver_postgresql

    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        conn.exec_driver_sql(
            "CREATE TABLE moods (id INT PRIMARY KEY, m mood, ms mood[], amt NUMERIC(8,2))"
        )
        conn.exec_driver_sql(
            "INSERT INTO moods VALUES (1, 'ok', '{sad,ok}', 2.50), (2, NULL, NULL, 1)"
        )
    engine.dispose()
    modes: list[str | None] = []
    real = adbc_driver_postgresql.connect

    def connect(uri: str, db_kwargs: dict[str, str] | None = None) -> object:
        modes.append((db_kwargs or {}).get("adbc.postgresql.type_resolver_mode"))
        return real(uri, db_kwargs=db_kwargs)

    monkeypatch.setattr(adbc_driver_postgresql, "connect", connect)
    expected = [
        {"id": 1, "m": "ok", "ms": ["sad", "ok"], "amt": Decimal("2.50")},
        {"id": 2, "m": None, "ms": None, "amt": Decimal("1.00")},
    ]
    reads = {}
    for path, since in (("rows", None), ("whole", None), ("from a position", (0,))):
        cfg = SourceConfig(
            kind="sql",
            url=pg_url,
            mapping=Path("m.yaml"),
            options={"columnar": path != "rows"},
            streams={"moods": {"table": "moods", "primary_key": ["id"], "cursor": ["id"]}},
        )
        with SqlConnector("erp", cfg) as conn:
            reads[path] = [
                r for _ in range(2) for b in conn.read("moods", since, 10) for r in b.to_dicts()
            ]
    assert reads["whole"] == reads["from a position"] == expected + expected
    # psycopg leaves an array of an enum as its text: the rest is the same on every path
    assert [{**r, "ms": None} for r in reads["rows"]] == [{**r, "ms": None} for r in reads["whole"]]
    # each connector: the built-in handle, then the catalogue (kept for its second read)
    assert modes == ["builtin", None, "builtin", None]


def test_postgres_reads_from_a_position_stream_with_quotes_in_the_key(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The position is written into the SQL as quoted literals, not bound: ADBC runs a query
    with bound parameters as a prepared statement whose whole result it holds at once (1M
    rows from a position: 608 MB, one batch), a query without them through COPY, streamed."""
    from connectors import arrow_pg

    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (k TEXT PRIMARY KEY, body TEXT)")
        conn.exec_driver_sql(
            "INSERT INTO notes SELECT 'O''Brien \\ ' || lpad(g::text, 5, '0'), repeat('x', 200) "
            "FROM generate_series(1, 3000) AS g"
        )
    engine.dispose()
    monkeypatch.setattr(arrow_pg, "BATCH_BYTES_HINT", 64 * 1024)
    record_batches = []
    native = arrow_pg._native_frames

    def counted(stream: object) -> tuple[Iterator[pl.DataFrame], object]:
        frames, schema = native(stream)

        def each() -> Iterator[pl.DataFrame]:
            for frame in frames:
                record_batches.append(frame.height)
                yield frame

        return each(), schema

    monkeypatch.setattr(arrow_pg, "_native_frames", counted)
    cfg = SourceConfig(
        kind="sql",
        url=pg_url,
        mapping=Path("m.yaml"),
        streams={"notes": {"table": "notes", "primary_key": ["k"], "cursor": ["k"]}},
    )
    with SqlConnector("erp", cfg) as conn:
        keys = [k for b in conn.read("notes", ("O'Brien \\ 01000",), 500) for k in b["k"]]
    assert keys == [f"O'Brien \\ {i:05d}" for i in range(1001, 3001)]
    assert len(record_batches) > 1  # streamed, not held whole


@pytest.mark.parametrize(
    ("kind", "url", "modules", "extra"),
    [
        ("sql", "postgresql+psycopg://sync:Sup3rSecret@db/erp", ["psycopg"], "postgres"),
        ("sql", "mysql+pymysql://sync:Sup3rSecret@db/erp", ["pymysql"], "mysql"),
        ("db2", "db2+ibm_db://sync:Sup3rSecret@db:50000/ERP", ["ibm_db", "ibm_db_dbi"], "db2"),
        ("odbc", "odbc://sync:Sup3rSecret@db/erp", ["pyodbc"], "odbc"),
    ],
)
def test_a_missing_driver_says_which_pip_install_brings_it(
    monkeypatch: pytest.MonkeyPatch, kind: str, url: str, modules: list[str], extra: str
) -> None:
    """docs/connectors.md: a missing driver is a one-line error with the pip install to run."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    monkeypatch.setenv("ERP_URL", url)
    options = {"driver": "PostgreSQL Unicode"} if kind == "odbc" else {}
    cfg = SourceConfig(
        kind=kind,
        url_env="ERP_URL",
        mapping=Path("m.yaml"),
        options=options,
        streams={"ledger": {"table": "LEDGER", "primary_key": ["KEY"]}},
    )
    with pytest.raises(ConfigError) as info, open_source("erp", cfg) as source:
        source.check()
    message = str(info.value)
    assert f"pip install 'crm-hub[{extra}]'" in message
    assert "Sup3rSecret" not in message and len(message.splitlines()) == 1


def test_a_store_without_its_driver_says_which_pip_install_brings_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigError, match=r"install it with: pip install 'crm-hub\[postgres\]'"):
        create_store_engine("postgresql+psycopg://hub:Sup3rSecret@db/hub")


def test_columnar_postgres_reads_keep_the_sources_statement_timeout(pg_url: str) -> None:
    """``timeouts.statement`` reaches the columnar (ADBC) connection too: a read within it
    works, a query running longer is stopped by the server."""
    _big_keys_table(pg_url)
    cfg = _big_config(pg_url, True).model_copy(
        update={"timeouts": Timeouts(connect=10, read=60, statement=1)}
    )
    with SqlConnector("erp", cfg) as conn:
        assert conn.columnar_reads()
        assert sum(b.height for b in conn.read("big", None, 100)) == 9
    query = "SELECT 1 AS id, pg_sleep(3) AS z"
    slow = SourceConfig.model_validate(
        {**cfg.model_dump(), "streams": {"slow": {"query": query, "primary_key": ["id"]}}}
    )
    with SqlConnector("erp", slow) as conn, pytest.raises(Exception, match="statement timeout"):
        list(conn.read("slow", None, 100))
