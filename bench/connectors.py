"""``python -m bench connectors``: each connector's read against its bare driver's loop.

The same order-lines table (see :mod:`bench.pgdata`) on PostgreSQL and on MariaDB; in
one run, for each database: the bare driver's ``fetchmany(10000)`` loop (the ceiling:
psycopg, pyodbc) and the connector reading the same rows into DataFrames, batches of
10,000 (SQL connector with its ADBC path on PostgreSQL; ODBC connector through unixODBC
with psqlODBC and the MariaDB ODBC driver). Rows/s, peak memory, connector/driver ratio.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pymysql

from bench import jobs, pgdata, report
from bench.measure import PEAK_SNIPPET, Measurement, run_job

MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
MARIADB_DB = "crmhub_bench_src"
PG_ODBC = "odbc://postgres@127.0.0.1:5432/crmhub_bench_src?driver=PostgreSQL+Unicode"
MARIA_ODBC = "odbc://root@127.0.0.1:3306/crmhub_bench_src?driver=MariaDB+Unicode"
PG_ODBC_DIRECT = (
    "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=crmhub_bench_src;"
    "UID=postgres;UseDeclareFetch=1;Fetch=10000"
)
MARIA_ODBC_DIRECT = (
    "DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=3306;DATABASE=crmhub_bench_src;UID=root"
)

MARIADB_FILL = """
INSERT INTO order_lines
SELECT seq DIV 4 + 1, seq MOD 4 + 1, (seq DIV 4) MOD {customers} + 1,
       CONCAT(ELT(seq MOD 6 + 1, 'BRG', 'MTR', 'VLV', 'SEN', 'CBL', 'PMP'),
              LPAD(seq MOD 997, 4, '0')),
       CONCAT(ELT(seq MOD 6 + 1, '轴承 深沟球 6204-2RS', '电机 三相异步 Y2-90L',
              '阀门 不锈钢 球阀 DN25', '传感器 压力 0-10bar', 'Cable shielded 4x1.5mm²',
              'Pump centrifugal 2.2kW'), ' #', seq MOD 97),
       (seq MOD 200 + 1) * 1.5, ROUND((seq MOD 5000) / 7.0, 4),
       ROUND((seq MOD 200 + 1) * 1.5 * ROUND((seq MOD 5000) / 7.0, 4), 2),
       ELT(seq MOD 6 + 1, 'E', 'C', 'P', 'S', 'I', 'X'),
       IF(seq MOD 9 = 0, NULL, DATE '2024-01-01' + INTERVAL (seq MOD 700) DAY),
       TIMESTAMP '2025-01-01 00:00:00' + INTERVAL seq SECOND
FROM seq_0_to_{last}
"""

MARIADB_DDL = """
CREATE TABLE order_lines (
    order_id BIGINT NOT NULL, line_no INT NOT NULL, customer_id BIGINT NOT NULL,
    item_id CHAR(15) NOT NULL, description VARCHAR(80), quantity DECIMAL(12, 3) NOT NULL,
    unit_price DECIMAL(14, 4) NOT NULL, amount DECIMAL(14, 2) NOT NULL,
    status CHAR(1) NOT NULL, ship_date DATE, updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (order_id, line_no), KEY order_lines_cursor (updated_at, order_id, line_no)
) CHARACTER SET utf8mb4 COMMENT 'order_lines v1'
"""

PYODBC_LOOP = (
    PEAK_SNIPPET
    + """
import time, pyodbc
conn = pyodbc.connect($conn)
started = time.perf_counter()
cur = conn.cursor()
cur.execute("SELECT * FROM order_lines")
rows = 0
while batch := cur.fetchmany(10_000):
    rows += len(batch)
_report(rows, time.perf_counter() - started)
"""
)

CONNECTOR_READ = (
    PEAK_SNIPPET
    + """
import time
from connectors import open_source
from schemas.settings import SourceConfig
config = SourceConfig.model_validate({
    "kind": $kind, "url": $url, "mapping": "unused.yaml", "options": $options,
    "streams": {"order_lines": {"table": "order_lines", "primary_key": ["order_id", "line_no"],
                                "cursor": ["updated_at"]}},
})
source = open_source("bench", config)
started = time.perf_counter()
rows = 0
for frame in source.read("order_lines", None, 10_000):
    rows += frame.height
source.close()
_report(rows, time.perf_counter() - started)
"""
)


def build_mariadb(rows: int) -> None:
    """Make MariaDB's copy of the bench table hold exactly ``rows`` order lines."""
    with pymysql.connect(**MARIADB, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {MARIADB_DB} CHARACTER SET utf8mb4")
        cur.execute(f"USE {MARIADB_DB}")
        cur.execute(
            "SELECT table_comment FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'order_lines'",
            (MARIADB_DB,),
        )
        found = cur.fetchone()
        if found and found[0] == pgdata.LAYOUT:
            cur.execute("SELECT COUNT(*) FROM order_lines")
            if cur.fetchone()[0] == rows:  # type: ignore[index]
                return
        cur.execute("DROP TABLE IF EXISTS order_lines")
        cur.execute(MARIADB_DDL)
        customers = max(1, rows // (pgdata.LINES_PER_ORDER * pgdata.ORDERS_PER_CUSTOMER))
        cur.execute(MARIADB_FILL.format(customers=customers, last=rows - 1))


def _pair(title: str, driver: Measurement, connector: Measurement) -> dict[str, Any]:
    return {
        "database": title,
        "driver_rows_per_s": round(driver.rows_per_s),
        "connector_rows_per_s": round(connector.rows_per_s),
        "ratio": round(connector.rows_per_s / driver.rows_per_s, 2),
        "connector_peak_mb": round(connector.peak_mb),
    }


def run(rows: int, *, as_json: bool = False) -> dict[str, Any]:
    """Measure every connector against its driver at ``rows`` order lines."""
    say = print if not as_json else (lambda *a, **k: print(*a, **k, file=sys.stderr))
    say(f"source: {rows:,} order lines in PostgreSQL and in MariaDB ...")
    pgdata.build_source(rows)
    build_mariadb(rows)
    pg = pgdata.url(pgdata.SOURCE_DB)
    measured = [
        run_job("psycopg fetchmany (PostgreSQL)", jobs.render(jobs.DRIVER_FETCHMANY, url=pg)),
        run_job(
            "sql connector (PostgreSQL, ADBC)",
            jobs.render(
                CONNECTOR_READ,
                kind="sql",
                url=pgdata.url(pgdata.SOURCE_DB, "postgresql+psycopg"),
                options={},
            ),
        ),
        run_job("pyodbc fetchmany (PostgreSQL)", jobs.render(PYODBC_LOOP, conn=PG_ODBC_DIRECT)),
        run_job(
            "odbc connector (PostgreSQL)",
            jobs.render(CONNECTOR_READ, kind="odbc", url=PG_ODBC, options={}),
        ),
        run_job("pyodbc fetchmany (MariaDB)", jobs.render(PYODBC_LOOP, conn=MARIA_ODBC_DIRECT)),
        run_job(
            "odbc connector (MariaDB)",
            jobs.render(CONNECTOR_READ, kind="odbc", url=MARIA_ODBC, options={}),
        ),
    ]
    for m in measured:
        say(f"  {m.name}: {m.rows_per_s:,.0f} rows/s, {m.peak_mb:,.0f} MB")
    pairs = [
        _pair("sql connector vs psycopg (PostgreSQL)", measured[0], measured[1]),
        _pair("odbc connector vs pyodbc (PostgreSQL)", measured[2], measured[3]),
        _pair("odbc connector vs pyodbc (MariaDB)", measured[4], measured[5]),
    ]
    say("")
    say(report.table(f"connectors: {rows:,} order lines", measured))
    say("")
    for p in pairs:
        say(f"{p['database']}: {p['ratio']:.2f}x the bare driver (target at least 0.5x)")
    result = {
        "benchmark": "connectors",
        "machine": report.machine(),
        "figures": {"rows": rows, "pairs": pairs},
        "measurements": [vars(m) for m in measured],
    }
    saved = report.save(f"connectors-{rows}", result)
    plot = report.bar_chart(f"connectors-{rows}", f"connector reads, {rows:,} rows", measured)
    say(f"results: {saved}, plot: {plot}")
    if as_json:
        print(json.dumps({"rows": rows, "pairs": pairs}))
    return result
