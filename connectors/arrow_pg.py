"""A columnar fast path for PostgreSQL sources: ADBC reads straight into Arrow.

Reading through a DB-API driver makes a Python object of every value (a Decimal for every
NUMERIC) and then a DataFrame of those objects; ADBC's libpq driver decodes PostgreSQL's
binary COPY format into Arrow buffers instead, which is several times faster. Used by the
SQL connector when the source is PostgreSQL and ``adbc-driver-postgresql`` is installed
(extra ``[postgres]``); the statement is the same keyset query, compiled with ``$n``
parameters.

The driver manager's low-level API is used, not its DB-API module: that one imports
``pyarrow.dataset`` and pandas, half a second on every process start. Parameters are made
into Arrow with polars for the same reason (``pyarrow.array`` of Python objects loads pandas).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import polars as pl
import pyarrow as pa
from sqlalchemy import Select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL

BATCH_BYTES_HINT = 8 * 1024 * 1024


def available() -> bool:
    """Whether the ADBC PostgreSQL driver can be imported."""
    try:
        import adbc_driver_postgresql  # noqa: F401
    except ImportError:
        return False
    return True


def compile_numbered(stmt: Select[Any]) -> tuple[str, list[Any]]:
    """The statement as PostgreSQL SQL with ``$1, $2, ...`` and its parameters in order."""
    compiled = stmt.compile(dialect=postgresql.dialect(paramstyle="numeric_dollar"))
    params = compiled.construct_params()
    return str(compiled), [params[name] for name in compiled.positiontup or []]


def adbc_uri(url: URL) -> str:
    """A libpq URI for a SQLAlchemy PostgreSQL URL (any driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def read_batches(url: URL, stmt: Select[Any], batch_size: int) -> Iterator[pl.DataFrame]:
    """Run ``stmt`` and yield DataFrames of at most ``batch_size`` rows, in order."""
    import adbc_driver_manager as adbc
    import adbc_driver_postgresql

    sql, params = compile_numbered(stmt)
    with ExitStack() as stack:
        database = stack.enter_context(adbc_driver_postgresql.connect(adbc_uri(url)))
        conn = stack.enter_context(adbc.AdbcConnection(database))
        statement = stack.enter_context(adbc.AdbcStatement(conn))
        statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES_HINT)})
        statement.set_sql_query(sql)
        if params:
            values = pl.DataFrame({f"p{i}": [v] for i, v in enumerate(params, 1)})
            statement.bind(values.to_arrow().to_batches()[0])
        stream, _ = statement.execute_query()
        reader = stack.enter_context(pa.RecordBatchReader.from_stream(stream))
        pending: list[pl.DataFrame] = []
        rows = 0
        for record_batch in reader:
            frame = to_frame(record_batch)
            pending.append(frame)
            rows += frame.height
            while rows >= batch_size:
                whole = pl.concat(pending, rechunk=False)
                yield whole.slice(0, batch_size).rechunk()
                rest = whole.slice(batch_size)
                pending, rows = [rest], rest.height
        if rows:
            yield pl.concat(pending).rechunk()


def to_frame(batch: pa.RecordBatch) -> pl.DataFrame:
    """A record batch as a DataFrame; PostgreSQL NUMERIC (sent as text) becomes Decimal."""
    columns = {}
    for field, array in zip(batch.schema, batch.columns, strict=True):
        if (
            isinstance(field.type, pa.ExtensionType)
            or field.type.__class__.__name__ == "OpaqueType"
        ):
            storage = array.storage if hasattr(array, "storage") else array
            series = pl.from_arrow(storage)
            meta = field.metadata or {}
            if meta.get(b"POSTGRESQL:type") == b"numeric":
                series = series.cast(pl.Decimal(38, _numeric_scale(meta, series)))
            columns[field.name] = series
        else:
            columns[field.name] = pl.from_arrow(array)
    return pl.DataFrame(columns)


def _numeric_scale(meta: dict[bytes, bytes], text: pl.Series) -> int:
    """The scale of a NUMERIC column: from its type modifier, else from the values."""
    typmod = int(meta.get(b"POSTGRESQL:typmod", b"-1"))
    if typmod >= 4:
        return (typmod - 4) & 0xFFFF
    decimals = text.str.split(".").list.get(1, null_on_oob=True).str.len_chars().max()
    return int(decimals or 0)
