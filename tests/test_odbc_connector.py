"""The ODBC connector through unixODBC and Debian's drivers, on the machine's real MariaDB
(``MariaDB Unicode``) and PostgreSQL (``PostgreSQL Unicode``, psqlODBC) servers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pyodbc = pytest.importorskip("pyodbc", exc_type=ImportError)

from connectors.odbc import OdbcConnector, connection_string  # noqa: E402
from schemas.errors import ConfigError  # noqa: E402
from schemas.settings import SourceConfig  # noqa: E402

DRIVERS = {"mariadb": "MariaDB Unicode", "postgres": "PostgreSQL Unicode"}
NAMES = [
    "上海华盛电子科技有限公司",
    "臺北市信義區永安貿易有限公司",  # traditional characters
    "𠮷野家 (supplementary plane U+20BB7)",
    "全角：＋８６　１３８",  # full-width forms
    "Müller Präzision GmbH & Co. KG",
    "O'Brien; DROP TABLE ledger;--",
    "emoji 😀 and a tab\there",
    "",
]
T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
ROWS = 53


def rows() -> list[dict[str, object]]:
    """53 rows; every three share a timestamp, so the keyset must break ties by id."""
    return [
        {
            "id": i,
            "name": NAMES[i % len(NAMES)],
            "amount": Decimal(i * 1_234_567) / 100 - Decimal("5000.05"),
            "rate": Decimal(f"0.{i:06d}"),
            "booked_on": date(2025, 12, 31) + timedelta(days=i * 3),
            "updated_at": T0 + timedelta(minutes=i // 3),
        }
        for i in range(1, ROWS + 1)
    ]


def create_ledger(url: str) -> None:
    engine = create_engine(url)
    pg = engine.dialect.name == "postgresql"
    stamp = "TIMESTAMPTZ" if pg else "DATETIME"
    charset = "" if pg else " CHARACTER SET utf8mb4"
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE ledger (id INTEGER PRIMARY KEY, name VARCHAR(200){charset}, "
                f"amount NUMERIC(18, 2), rate NUMERIC(12, 6), booked_on DATE, "
                f"updated_at {stamp} NOT NULL)"
            )
        )
        values = rows()
        if not pg:  # MariaDB DATETIME holds the UTC wall time (the modern ERP convention)
            values = [{**r, "updated_at": r["updated_at"].replace(tzinfo=None)} for r in values]
        conn.execute(
            text("INSERT INTO ledger VALUES (:id, :name, :amount, :rate, :booked_on, :updated_at)"),
            values,
        )
    engine.dispose()


def stored_bytes(url: str) -> dict[int, bytes]:
    """The names as the server stores them, in UTF-8, read with the native driver."""
    engine = create_engine(url)
    as_bytes = (
        "convert_to(name, 'UTF8')"
        if engine.dialect.name == "postgresql"
        else "CAST(name AS BINARY)"
    )
    with engine.connect() as conn:
        out = {i: bytes(b) for i, b in conn.execute(text(f"SELECT id, {as_bytes} FROM ledger"))}
    engine.dispose()
    return out


def odbc_source(url: str, backend: str, **options: object) -> OdbcConnector:
    parsed = make_url(url)
    odbc_url = f"odbc://{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"
    cfg = SourceConfig(
        kind="odbc",
        url=odbc_url,
        mapping=Path("m.yaml"),
        options={"driver": DRIVERS[backend], **options},
        streams={"ledger": {"table": "ledger", "primary_key": ["id"], "cursor": ["updated_at"]}},
    )
    return OdbcConnector("erp", cfg)


@pytest.fixture(params=["mariadb", "postgres"])
def backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    url = request.getfixturevalue("mariadb_url" if request.param == "mariadb" else "pg_url")
    create_ledger(url)
    return request.param, url


def test_odbc_reads_fetchmany_batches_with_decimals_dates_and_text_intact_byte_for_byte(
    backend: tuple[str, str],
) -> None:
    name, url = backend
    with odbc_source(url, name) as source:
        batches = list(source.read("ledger", None, 10))
    assert [b.height for b in batches] == [10, 10, 10, 10, 10, 3]
    got = {r["id"]: r for b in batches for r in b.iter_rows(named=True)}
    stored = stored_bytes(url)
    for expected in rows():
        row = got[expected["id"]]
        assert row["name"].encode("utf-8") == stored[expected["id"]]
        assert row["name"].encode("utf-8") == expected["name"].encode("utf-8")
        assert row["amount"] == expected["amount"] and isinstance(row["amount"], Decimal)
        assert row["rate"] == expected["rate"]
        assert row["booked_on"] == expected["booked_on"]
        assert row["updated_at"] == expected["updated_at"]  # aware, in UTC
    assert str(batches[0].schema["updated_at"]) == "Datetime(time_unit='us', time_zone='UTC')"


@pytest.mark.postgres
def test_odbc_psqlodbc_naive_timestamptz_is_made_aware_in_the_source_zone(pg_url: str) -> None:
    create_ledger(pg_url)
    with odbc_source(pg_url, "postgres", timezone="Asia/Shanghai") as source:
        # what psqlODBC itself returns: the session zone's wall time, offset dropped
        conn = source.connect()
        raw = conn.execute("SELECT updated_at FROM ledger WHERE id = 1").fetchone()[0]
        conn.close()
        assert raw == datetime(2026, 3, 1, 16, 30) and raw.tzinfo is None  # 08:30 UTC
        everything = [r for b in source.read("ledger", None, 7) for r in b.iter_rows(named=True)]
        assert everything[0]["updated_at"] == T0
        # resume after a watermark in the middle of a group of tied timestamps
        since = (everything[19]["updated_at"], everything[19]["id"])
        assert since[0].tzinfo is not None
        after = [r["id"] for b in source.read("ledger", since, 7) for r in b.iter_rows(named=True)]
    assert after == [r["id"] for r in everything[20:]] and len(after) == ROWS - 20


@pytest.mark.mariadb
def test_odbc_reads_through_a_dsn_of_odbc_ini(
    mariadb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_ledger(mariadb_url)
    parsed = make_url(mariadb_url)
    ini = tmp_path / "odbc.ini"
    ini.write_text(
        f"[crmhub_ledger]\nDriver=MariaDB Unicode\nServer={parsed.host}\nPort={parsed.port}\n"
        f"Database={parsed.database}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ODBCINI", str(ini))  # unixODBC's user data sources
    cfg = SourceConfig(
        kind="odbc",
        url="odbc://root@/",
        mapping=Path("m.yaml"),
        options={"dsn": "crmhub_ledger"},
        streams={"ledger": {"table": "ledger", "primary_key": ["id"], "cursor": ["updated_at"]}},
    )
    with OdbcConnector("erp", cfg) as source:
        assert source.connection_string() == "DSN=crmhub_ledger;UID=root"
        source.check()
        assert sum(b.height for b in source.read("ledger", None, 50)) == ROWS


def test_odbc_connection_strings_from_urls_and_options() -> None:
    mariadb = connection_string("odbc://sync:p%3Bw%7D@db.example:3306/erp?driver=MariaDB+Unicode")
    assert mariadb == (
        "DRIVER={MariaDB Unicode};SERVER=db.example;PORT=3306;DATABASE=erp;UID=sync;"
        "PWD={p;w}}};NO_CACHE=1"
    )
    pg = connection_string(
        "odbc://sync@db.example/erp?sslmode=require",
        {"driver": "PostgreSQL Unicode", "connection": {"Fetch": "500"}},
    )
    assert pg == (
        "DRIVER={PostgreSQL Unicode};SERVER=db.example;DATABASE=erp;UID=sync;sslmode=require;"
        "Fetch=500;UseDeclareFetch=1;BoolsAsChar=0"
    )
    assert connection_string("odbc://u:pw@/?dsn=erp") == "DSN=erp;UID=u;PWD=pw"
    with pytest.raises(ConfigError, match="needs a driver"):
        connection_string("odbc://u@host/db")
    with pytest.raises(ConfigError, match="needs an odbc:// URL"):
        connection_string("mysql+pymysql://u@host/db")


def test_odbc_driver_that_is_not_installed_is_a_clear_config_error() -> None:
    cfg = SourceConfig(
        kind="odbc",
        url="odbc://u@127.0.0.1:1/erp",
        mapping=Path("m.yaml"),
        options={"driver": "Db2 For Toasters"},
        streams={"ledger": {"table": "ledger", "primary_key": ["id"]}},
    )
    with pytest.raises(ConfigError) as info, OdbcConnector("erp", cfg) as source:
        source.check()
    message = str(info.value)
    assert "\n" not in message and "Db2 For Toasters" in message and "SQLSTATE" in message


@pytest.mark.postgres
def test_odbc_wrong_driver_name_lists_the_installed_drivers(pg_url: str) -> None:
    """`driver: PostgreSQL` where unixODBC has `PostgreSQL Unicode`: the error names the
    drivers there are, so the right name is one look away."""
    create_ledger(pg_url)
    source = odbc_source(pg_url, "postgres", driver="PostgreSQL")
    with pytest.raises(ConfigError) as info, source:
        source.check()
    message = str(info.value)
    assert "Can't open lib 'PostgreSQL'" in message and "\n" not in message
    installed = ", ".join(repr(d) for d in pyodbc.drivers())
    assert f"installed ODBC drivers: {installed}" in message
    assert "'PostgreSQL Unicode'" in message and "'MariaDB Unicode'" in message


def resident_mb() -> float:
    """This process's resident memory in MB."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.slow
@pytest.mark.mariadb
def test_odbc_mariadb_memory_stays_bounded_by_the_batch_over_300000_rows(
    mariadb_url: str,
) -> None:
    # MariaDB's Connector/ODBC holds a whole result in memory (28 MB here, in the cursor
    # mode) and leaked ~45 bytes per DECIMAL through pyodbc's decimal path (13 MB here);
    # keyset pages and the text-read decimals keep the peak to a few batches
    engine = create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE big (id INTEGER PRIMARY KEY, name VARCHAR(60), amt DECIMAL(12, 2))")
        )
        conn.execute(
            text(
                "INSERT INTO big SELECT seq, CONCAT('上海华盛电子科技有限公司 ', seq), seq / 100 "
                "FROM seq_1_to_300000"
            )
        )
    engine.dispose()
    parsed = make_url(mariadb_url)
    cfg = SourceConfig(
        kind="odbc",
        url=f"odbc://root@{parsed.host}:{parsed.port}/{parsed.database}",
        mapping=Path("m.yaml"),
        options={"driver": DRIVERS["mariadb"]},
        streams={
            "warm": {"query": "SELECT * FROM big WHERE id <= 5000", "primary_key": ["id"]},
            "big": {"table": "big", "primary_key": ["id"]},
        },
    )
    with OdbcConnector("erp", cfg) as source:
        list(source.read("warm", None, 5000))  # driver, polars and decimals warmed up
        before = peak = resident_mb()
        rows, last = 0, None
        for batch in source.read("big", None, 5000):
            rows += batch.height
            last = batch["amt"][-1]
            peak = max(peak, resident_mb())
    assert rows == 300_000 and last == Decimal("3000.00")
    assert peak - before < 10, f"memory grew by {peak - before:.1f} MB"


def test_odbc_config_problems_are_reported_together() -> None:
    cfg = SourceConfig(
        kind="odbc",
        url="odbc://u@db.example/erp",
        mapping=Path("m.yaml"),
        options={
            "driver": "MariaDB Unicode",
            "timezone": "Mars/Olympus",
            "paging": "pages",
            "dns": "x",
        },
        streams={"ledger": {"table": "ledger", "primary_key": ["id"]}},
    )
    with pytest.raises(ConfigError) as info:
        OdbcConnector("erp", cfg)
    assert info.value.problems == [
        "options.dns: unknown option (known: connection, driver, dsn, login_timeout, paging, "
        "timezone)",
        "options.timezone: 'Mars/Olympus' is not an IANA time zone",
        "options.paging: 'pages' is not keyset or cursor",
    ]


def test_odbc_batches_are_typed_by_the_cursor_description_and_keep_every_digit() -> None:
    from connectors.odbc.frames import DecimalText, to_frame

    description = [("id", int), ("amount", Decimal), ("text_amount", str), ("note", str)]
    rows = [
        (1, Decimal("0.0000001"), DecimalText("12.5"), "上海"),
        (2, Decimal("1E+3"), None, 7),  # a stray number in a text column stays visible
        (3, None, DecimalText("-0.125"), None),
    ]
    frame = to_frame(description, rows)
    assert frame["amount"].to_list() == [Decimal("0.0000001"), Decimal(1000), None]
    assert frame["text_amount"].to_list() == [Decimal("12.5"), None, Decimal("-0.125")]
    assert frame["note"].to_list() == ["上海", "7", None]
    assert frame["id"].dtype == pl.Int64
