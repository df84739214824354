"""The benchmark's PostgreSQL databases: a source ERP with N order lines, and empty targets.

The source is built by the server itself (``generate_series``), so building a million rows
takes seconds and no Python loop stands between the benchmark and its data. A table that
already holds the asked-for rows (same size, same layout version) is reused, unless a run
changed it. Rows changed by earlier runs come last in the order a full sync reads (by change
time), so they sit together at the end of the store's table, and an incremental that changes
them again updates whole pages instead of a row here and there: most of those updates cannot
stay in their page (measured: 1,845 of 10,251 updates in place, against all of them on a
fresh source), and the run costs more each time the benchmark has run before. Each run
starts from the same table instead.
"""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

ADMIN_URL = os.environ.get("CRM_HUB_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SOURCE_DB = "crmhub_bench_src"
LAYOUT = "order_lines v1"
#: What the table's comment says once a benchmark has changed rows in it.
CHANGED = f"{LAYOUT} (changed)"
LINES_PER_ORDER = 4
ORDERS_PER_CUSTOMER = 10

SOURCE_DDL = """
CREATE TABLE customers (
    customer_id bigint PRIMARY KEY,
    name        varchar(80) NOT NULL,
    country     char(2) NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE TABLE order_lines (
    order_id    bigint NOT NULL,
    line_no     integer NOT NULL,
    customer_id bigint NOT NULL,
    item_id     char(15) NOT NULL,
    description varchar(80),
    quantity    numeric(12, 3) NOT NULL,
    unit_price  numeric(14, 4) NOT NULL,
    amount      numeric(14, 2) NOT NULL,
    status      char(1) NOT NULL,
    ship_date   date,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_cursor ON order_lines (updated_at, order_id, line_no);
COMMENT ON TABLE order_lines IS %(layout)s;
"""

FILL_SQL = """
INSERT INTO customers
SELECT c,
       (ARRAY['上海华盛机械制造有限公司', '深圳宏达电子科技有限公司',
              'Müller Maschinenbau GmbH', '杭州恒信精密仪器有限公司',
              'O''Brien Industrial Supply Inc.'])[c %% 5 + 1] || ' ' || c,
       (ARRAY['CN', 'CN', 'DE', 'CN', 'US'])[c %% 5 + 1],
       timestamptz '2024-01-01 00:00:00+00' + c * interval '1 minute'
FROM generate_series(1, %(customers)s) AS c;
INSERT INTO order_lines
SELECT g / %(lines)s + 1,
       g %% %(lines)s + 1,
       (g / %(lines)s) %% %(customers)s + 1,
       (ARRAY['BRG', 'MTR', 'VLV', 'SEN', 'CBL', 'PMP'])[g %% 6 + 1]
           || lpad((g %% 997)::text, 4, '0'),
       (ARRAY['轴承 深沟球 6204-2RS', '电机 三相异步 Y2-90L', '阀门 不锈钢 球阀 DN25',
              '传感器 压力 0-10bar', 'Cable shielded 4x1.5mm²',
              'Pump centrifugal 2.2kW'])[g %% 6 + 1] || ' #' || (g %% 97),
       (g %% 200 + 1) * 1.5,
       round((g %% 5000) / 7.0, 4),
       round((g %% 200 + 1) * 1.5 * round((g %% 5000) / 7.0, 4), 2),
       (ARRAY['E', 'C', 'P', 'S', 'I', 'X'])[g %% 6 + 1],
       CASE WHEN g %% 9 = 0 THEN NULL ELSE date '2024-01-01' + (g %% 700) END,
       timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second'
FROM generate_series(0, %(rows)s - 1) AS g;
ANALYZE customers;
ANALYZE order_lines;
"""


def url(database: str, driver: str = "postgresql") -> str:
    """The URL of one of the benchmark's databases (``driver`` may be ``postgresql+psycopg``)."""
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base.replace('postgresql', driver, 1)}/{database}"


def recreate_database(name: str) -> None:
    """Drop (if there) and create an empty database."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def source_rows(database: str = SOURCE_DB) -> int | None:
    """Rows in the source's order_lines if it exists with the current layout and no run has
    changed it, else None."""
    try:
        with psycopg.connect(url(database)) as conn:
            layout = conn.execute("SELECT obj_description('order_lines'::regclass)").fetchone()
            if not layout or layout[0] != LAYOUT:
                return None
            return int(conn.execute("SELECT count(*) FROM order_lines").fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        return None


def build_source(rows: int, database: str = SOURCE_DB, *, reuse: bool = True) -> bool:
    """Make the source (``database``) hold exactly ``rows`` order lines; return whether it
    was rebuilt (always, without ``reuse``: for a benchmark that changes the source)."""
    if reuse and source_rows(database) == rows:
        return False
    recreate_database(database)
    customers = max(1, rows // (LINES_PER_ORDER * ORDERS_PER_CUSTOMER))
    with psycopg.connect(
        url(database), autocommit=True, cursor_factory=psycopg.ClientCursor
    ) as conn:
        conn.execute(SOURCE_DDL.replace("%(layout)s", f"'{LAYOUT}'"))
        conn.execute(FILL_SQL, {"rows": rows, "customers": customers, "lines": LINES_PER_ORDER})
    return True


def change_share(share: float, part: int = 0) -> int:
    """Change ``share`` of the order lines (amount and change time); return how many.
    Each ``part`` is another such share, spread over the table like the first (hashed keys),
    so that repeated measurements do not rewrite the same rows; the table is marked changed,
    and the next :func:`build_source` builds it again."""
    size = round(share * 10_000)
    with psycopg.connect(url(SOURCE_DB), autocommit=True) as conn:
        cur = conn.execute(
            """
            UPDATE order_lines SET amount = amount + 1,
                   updated_at = now() + (order_id %% 1000) * interval '1 millisecond'
            WHERE (hashtext(order_id::text || '/' || line_no) & 2147483647) %% 10000
                  BETWEEN %s AND %s
            """,
            (part * size, part * size + size - 1),
        )
        conn.execute(f"COMMENT ON TABLE order_lines IS '{CHANGED}'")
        conn.execute("ANALYZE order_lines")
        return cur.rowcount
