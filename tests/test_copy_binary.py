"""Binary COPY of mapped batches into a PostgreSQL store: every record table's every column
type lands with the same values as the CSV form would give, and a batch whose types
differ from the table's goes as CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import Engine, text

from crm_core.pull import copy_binary, load
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES

SHANGHAI = timezone(timedelta(hours=8))


def _values(dtype: pl.DataType, row: int) -> object:
    """A value of ``dtype`` for row 0-2, row 2 null: awkward text, money, zoned times."""
    if row == 2:
        return None
    if dtype == pl.String:
        return ['上海 "轴承", 第1行\n第2行', "O'Brien;\ttab \\ back"][row]
    if dtype == pl.Int64:
        return [-(2**62), 7][row]
    if isinstance(dtype, pl.Decimal):
        return [Decimal("-12345678901234.5678"), Decimal("0.0001")][row]
    if dtype == pl.Boolean:
        return [True, False][row]
    if dtype == pl.Date:
        return [date(1899, 12, 31), date(2026, 2, 28)][row]
    if isinstance(dtype, pl.Datetime):
        return [
            datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
            datetime(2026, 12, 5, 9, 30, 0, 123_456, tzinfo=SHANGHAI),
        ][row]
    raise AssertionError(f"no sample for {dtype}")


def _frame(table_name: str) -> pl.DataFrame:
    """Three rows of the table, every column of its own store type: a key column holds
    distinct values, a column that may be null is null on the last row."""
    table = RECORD_TABLES[table_name]
    data: dict[str, pl.Series] = {}
    for column in table.columns:
        dtype = copy_binary.column_dtype(column.type)
        assert dtype is not None, f"{table_name}.{column.name}: no binary type"
        if column.primary_key:
            values = [f"k{row}" for row in range(3)] if dtype == pl.String else [1, 2, 3]
        elif column.nullable:
            values = [_values(dtype, row) for row in range(3)]
        else:
            values = [_values(dtype, row % 2) for row in range(3)]
        data[column.name] = pl.Series(column.name, values, dtype=dtype)
    return pl.DataFrame(data)


@pytest.fixture(scope="module")
def store(pg_module_url: str) -> Engine:
    return open_store(pg_module_url)


@pytest.mark.parametrize("table_name", sorted(RECORD_TABLES))
def test_binary_copy_stores_what_csv_stores(store: Engine, table_name: str) -> None:
    table = RECORD_TABLES[table_name]
    frame = _frame(table_name)
    assert copy_binary.encode(table, frame) is not None  # binary, not the CSV fallback
    with store.begin() as conn:
        conn.execute(text(f'CREATE TEMP TABLE csv_copy (LIKE "{table.name}") ON COMMIT DROP'))
        load.copy_rows(conn, table.name, table, frame)
        load.copy_frame(conn, "csv_copy", frame)
        stored = conn.execute(text(f'SELECT * FROM "{table.name}" ORDER BY 1, 2')).all()
        differ = conn.execute(
            text(
                f'SELECT count(*) FROM ((TABLE "{table.name}" EXCEPT TABLE csv_copy) '
                f'UNION ALL (TABLE csv_copy EXCEPT TABLE "{table.name}")) d'
            )
        ).scalar_one()
        conn.execute(text(f'DELETE FROM "{table.name}"'))
    assert len(stored) == frame.height
    assert differ == 0


def test_a_batch_of_other_types_goes_as_csv_and_lands_alike(store: Engine) -> None:
    """A naive timestamp or an integer as text has no binary form the table takes: the
    batch is sent as CSV, and the server converts it as before."""
    table = RECORD_TABLES["order_lines"]
    frame = _frame("order_lines")
    naive = frame.with_columns(pl.col("updated_at").dt.replace_time_zone(None))
    assert copy_binary.encode(table, naive) is None
    as_text = frame.with_columns(pl.col("line_no").cast(pl.String))
    assert copy_binary.encode(table, as_text) is None
    narrower = frame.with_columns(pl.col("line_no").cast(pl.Int32))  # cast on the way
    assert copy_binary.encode(table, narrower) is not None
    with store.begin() as conn:
        load.copy_rows(conn, table.name, table, as_text.head(2))
        lines = conn.execute(text("SELECT line_no FROM order_lines ORDER BY line_no")).scalars()
        assert list(lines) == [1, 2]
        conn.execute(text("DELETE FROM order_lines"))


@pytest.mark.parametrize("table_name", sorted(RECORD_TABLES))
def test_the_warm_up_row_encodes_as_binary_for_every_record_table(table_name: str) -> None:
    """The row a load encodes ahead of its first batch (to page the encoder in while the
    source reads) goes through the binary path: were it sent to CSV, the warm-up would
    warm nothing the load uses."""
    assert copy_binary.warm_up(RECORD_TABLES[table_name])
