"""A columnar fast path for PostgreSQL sources: ADBC reads straight into Arrow.

Reading through a DB-API driver makes a Python object of every value (a Decimal for every
NUMERIC) and then a DataFrame of those objects; ADBC's libpq driver decodes PostgreSQL's
binary COPY format into Arrow buffers instead, which is several times faster. Used by the
SQL connector when the source is PostgreSQL and ``adbc-driver-postgresql`` is installed
(extra ``[postgres]``); the statement is the same keyset query.

A read from a position (incremental, or a no-op) goes from ADBC to polars through the
Arrow C stream interface, a batch at a time: the read does not import pyarrow (and the
numpy it loads), ~0.2 s and ~50 MB (the hub's sync imports it all the same, for the
binary COPY of the rows it loads and for a detect pass of deletes). The position's
values are written into the SQL (see :func:`compile_inline`), so every read streams. A
read of a whole table goes through pyarrow's reader, which overlaps the load better (see
:func:`read_batches`); so does every read with a polars that has no C stream reader of
its own. The driver manager's low-level API is used, not its DB-API module: that one imports
``pyarrow.dataset`` and pandas, half a second on every process start.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, cast

import polars as pl
from sqlalchemy import Select, literal_column
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from connectors import pg_numeric
from schemas.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_BYTES_HINT = 8 * 1024 * 1024
#: How ADBC marks a PostgreSQL type Arrow has no type for: its text in an opaque extension.
OPAQUE = "arrow.opaque"
#: An opaque column's type name when the handle did not know the type at all.
UNRESOLVED = "unnamed<oid:"
#: The database option that chooses how ADBC learns the server's types.
TYPE_RESOLVER = "adbc.postgresql.type_resolver_mode"


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


def compile_inline(stmt: Select[Any]) -> tuple[str, list[Any]]:
    """The statement as PostgreSQL SQL with its values written in as typed literals, quoted
    by psycopg (``'...'::timestamptz``, ``E'...'``), so that nothing is left to bind.

    ADBC streams a query without parameters through ``COPY ... TO STDOUT``, a record batch
    at a time; a query with bound parameters is run as a prepared statement whose whole
    result libpq holds in memory at once (1,000,000 rows from a position: 608 MB and one
    batch, against 83 MB and 19 batches). Without psycopg 3.2 or later (quoting with no
    connection): ``compile_numbered``."""
    try:
        from psycopg import sql as pgsql

        pgsql.Literal(0).as_string(None)
    except (ImportError, TypeError, AttributeError):
        return compile_numbered(stmt)

    def inline(element: Any, **kw: Any) -> Any:
        if isinstance(element, BindParameter):
            return literal_column(pgsql.Literal(element.effective_value).as_string(None))
        return None

    inlined = visitors.replacement_traverse(stmt, {}, inline)
    return compile_numbered(cast(Select[Any], inlined))  # a copy of the statement it was given


def adbc_uri(url: URL) -> str:
    """A libpq URI for a SQLAlchemy PostgreSQL URL (any driver name). SQLAlchemy writes a
    space in a query value as ``+``, which libpq takes literally (``options=-c+x=1`` fails):
    spaces are written ``%20`` (a ``+`` of the value itself is ``%2B`` already)."""
    rendered = url.set(drivername="postgresql").render_as_string(hide_password=False)
    base, mark, query = rendered.partition("?")
    return base + mark + query.replace("+", "%20")


class Database:
    """One PostgreSQL database's ADBC handles, opened on the first read and shared by the
    reads of one connector, every stream of a source; each read has a connection of its own.

    Opening a handle the default way loads the server's whole type catalogue (~35 ms, three
    queries of ``pg_type``). With ``builtin_types`` the first handle knows PostgreSQL's
    built-in types only (~4 ms); a read whose columns include a type of the database's own
    (an enum, an extension's type) comes back as undecoded bytes, is noticed by its schema
    before any row is used, and is run again on a handle with the catalogue, which the
    later reads then use too. ``close()`` releases the handles, or, while reads are still
    open (a consumer that stopped early), has the last of them release them."""

    def __init__(self, url: URL, builtin_types: bool = False) -> None:
        self.url = url
        self.catalogue = not builtin_types
        self._handles: dict[bool, Any] = {}
        self._readers = 0
        self._close_when_idle = False
        self._lock = threading.Lock()
        #: how often the handles were released: an open ahead asked for before is dropped
        self._closes = 0

    def open_ahead(self) -> None:
        """Open the handle a first read will use, in a thread of its own: a read meanwhile
        waits for it; should it fail, the read opens it again and meets the error itself.
        Nothing to do once a stream before has opened it."""
        if self.catalogue in self._handles:
            return
        closes = self._closes

        def open_handle() -> None:
            try:
                with self._lock:
                    if self._closes == closes:  # not closed meanwhile: no handle left open
                        self._open()
            except Exception:  # noqa: BLE001 - the read that needs the handle reports it
                pass

        # not a daemon: a thread cut at the interpreter's exit inside the driver's C++
        # aborts the process ("exception not rethrown"); the open is bounded by the URL's
        # connect_timeout
        threading.Thread(target=open_handle, name="crm-hub-adbc-open").start()

    def acquire(self) -> tuple[Any, bool]:
        """An ``AdbcDatabase`` for one more read (opened if need be), and whether it knows
        the server's own types; ``release()`` after."""
        with self._lock:
            catalogue = self._open()
            self._readers += 1
            self._close_when_idle = False
            return self._handles[catalogue], catalogue

    def _open(self) -> bool:
        """Open the handle reads use now, unless open (with the lock held); return whether
        it knows the server's own types."""
        import adbc_driver_postgresql

        if not self.catalogue and False not in self._handles:
            try:
                self._handles[False] = adbc_driver_postgresql.connect(
                    adbc_uri(self.url), db_kwargs={TYPE_RESOLVER: "builtin"}
                )
            except Exception as exc:
                if TYPE_RESOLVER not in str(exc):
                    raise
                self.catalogue = True  # a driver before the option: the catalogue
        catalogue = self.catalogue
        if catalogue not in self._handles:
            self._handles[catalogue] = adbc_driver_postgresql.connect(adbc_uri(self.url))
        return catalogue

    def release(self) -> None:
        """One read is over (its connection closed)."""
        with self._lock:
            self._readers -= 1
            if self._readers or not self._close_when_idle:
                return
        self.close()

    def close(self) -> None:
        """Release the handles now, or when the last open read is over; a later read opens
        them again."""
        with self._lock:
            if self._readers:
                self._close_when_idle = True
                return
            handles, self._handles, self._close_when_idle = self._handles, {}, False
            self._closes += 1
        for handle in handles.values():
            handle.close()


def read_batches(
    database: Database, stmt: Select[Any], batch_size: int, whole: bool = False
) -> Iterator[pl.DataFrame]:
    """Run ``stmt`` and yield DataFrames of at most ``batch_size`` rows, in order.

    A ``whole`` read (a table from its start) goes through pyarrow's stream reader, which
    decodes without holding the GIL, so that reading overlaps the load of the batches before
    (polars' reader holds the GIL for each record batch, ~0.1 s, and a full sync took 20%
    longer with it). Any other read, from a position, goes through polars' own reader: no
    pyarrow and numpy import (~0.2 s, ~50 MB), which an incremental or no-op run would
    otherwise pay in full; a large read from a position is read the same, only with less
    overlap."""
    native = not whole and _native_reader()
    while True:
        with ExitStack() as stack:
            stream, catalogue, numeric = _execute(stack, database, stmt)
            if not native:
                frames, unresolved = _pyarrow_frames(stack, stream)
            else:
                frames, schema = _native_frames(stream)
                unresolved = _unresolved(schema)
            if unresolved and not catalogue:
                if native:  # polars may have started reading: it reads on, then closes
                    _drain_then_close(frames, stack.pop_all())
                else:
                    del frames  # the stream goes before its statement closes
                database.catalogue = True  # run again, and later reads, with the catalogue
                continue
            batches = rebatch(frames, batch_size)
            if not native:
                for frame in batches:
                    yield pg_numeric.to_decimal(frame, numeric)
                return
            finished = False
            try:
                for frame in batches:
                    yield pg_numeric.to_decimal(decode(frame), numeric)
                finished = True
            finally:
                if not finished:  # stopped early: polars reads on, the statement must wait
                    _drain_then_close(frames, stack.pop_all())
            return


def _execute(
    stack: ExitStack, database: Database, stmt: Select[Any]
) -> tuple[Any, bool, dict[str, pl.Decimal | None]]:
    """Run the query on a connection of its own (closed by ``stack``), a table's NUMERIC
    columns sent as text (:mod:`connectors.pg_numeric`); return its Arrow stream, whether
    the handle knows the server's own types, and the decimal types of the columns sent as text."""
    import adbc_driver_manager as adbc

    handle, catalogue = database.acquire()
    stack.callback(database.release)
    conn = stack.enter_context(adbc.AdbcConnection(handle))
    stmt, numeric = pg_numeric.as_text(conn, stmt)
    sql, params = compile_inline(stmt)
    statement = stack.enter_context(adbc.AdbcStatement(conn))
    statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES_HINT)})
    statement.set_sql_query(sql)
    if params:
        values = pl.DataFrame({f"p{i}": [v] for i, v in enumerate(params, 1)})
        statement.bind_stream(values.__arrow_c_stream__())
    stream, _ = statement.execute_query()
    return stream, catalogue, numeric


def rebatch(frames: Iterable[pl.DataFrame], batch_size: int) -> Iterator[pl.DataFrame]:
    """The rows of ``frames`` again, in frames of exactly ``batch_size`` rows (the last one
    may be shorter)."""
    pending: list[pl.DataFrame] = []
    rows = 0
    for frame in frames:
        pending.append(frame)
        rows += frame.height
        while rows >= batch_size:
            whole = pl.concat(pending, rechunk=False)
            yield whole.slice(0, batch_size).rechunk()
            rest = whole.slice(batch_size)
            pending, rows = [rest], rest.height
    if rows:
        yield pl.concat(pending).rechunk()


def _native_reader() -> bool:
    """Whether polars can read an Arrow C stream itself, batch by batch, with public API
    (``pl.scan_arrow_c_stream`` and ``LazyFrame.collect_batches``) and has extension
    types to carry NUMERIC's marker; older polars read through pyarrow."""
    return (
        hasattr(pl, "scan_arrow_c_stream")
        and hasattr(pl.LazyFrame, "collect_batches")
        and hasattr(pl, "Extension")
    )


def _native_frames(stream: Any) -> tuple[Iterator[pl.DataFrame], Any]:
    """The stream's record batches as DataFrames read by polars itself, and their schema.
    A column type polars cannot import (PostgreSQL ``interval``) is a ConfigError naming
    it, not a panic."""
    try:
        lazy = pl.scan_arrow_c_stream(stream)
        schema = lazy.collect_schema()
    except pl.exceptions.PanicException as exc:
        raise _unreadable(exc) from None
    return lazy.collect_batches(), schema


def _drain_then_close(frames: Iterator[pl.DataFrame], later: ExitStack) -> None:
    """Close the statement behind ``frames`` once polars has read its stream to the end,
    in a thread of its own: polars' batch reader cannot be stopped, and the stream must
    outlive every read of it."""

    def drain() -> None:
        try:
            for _ in frames:
                pass
        except Exception:  # noqa: BLE001 - the read already failed or was abandoned
            pass
        finally:
            later.close()

    threading.Thread(target=drain, name="crm-hub-adbc-drain", daemon=True).start()


def _unreadable(exc: BaseException) -> ConfigError:
    """The error for a column type polars cannot import, with polars' own reason."""
    detail = str(exc).split(". Hint")[0]
    return ConfigError(f"the query returns a column type polars cannot read: {detail}")


def _opaque(frame_schema: Any) -> dict[str, str | None]:
    """The columns ADBC sent as opaque values, with the PostgreSQL type each holds."""
    return {
        name: json.loads(dtype.ext_metadata() or "{}").get("type_name")
        for name, dtype in frame_schema.items()
        if isinstance(dtype, pl.Extension) and dtype.ext_name() == OPAQUE
    }


def _unresolved(frame_schema: Any) -> bool:
    """Whether a column's type was unknown to the handle (a type of the database's own)."""
    return any(str(t).startswith(UNRESOLVED) for t in _opaque(frame_schema).values())


def decode(frame: pl.DataFrame) -> pl.DataFrame:
    """PostgreSQL types ADBC sends as opaque text made plain: NUMERIC as Decimal (scale from
    the values: PostgreSQL writes every value of a ``numeric(p, s)`` with ``s`` decimals),
    the others as their text or bytes."""
    opaque = _opaque(frame.schema)
    if not opaque:
        return frame
    columns = []
    for name, type_name in opaque.items():
        text = frame.get_column(name).ext.storage()
        if type_name == "numeric":
            text = text.cast(pl.Decimal(pg_numeric.PRECISION, pg_numeric.scale_of(text)))
        columns.append(text)
    return frame.with_columns(columns)


def _pyarrow_frames(stack: ExitStack, stream: Any) -> tuple[Iterator[pl.DataFrame], bool]:
    """The stream's record batches as DataFrames, through pyarrow's reader (closed by
    ``stack``), and whether a column's type was unknown to the handle."""
    import pyarrow as pa

    reader = stack.enter_context(pa.RecordBatchReader.from_stream(stream))
    unresolved = any(
        (field.metadata or {}).get(b"POSTGRESQL:type", b"").startswith(UNRESOLVED.encode())
        for field in reader.schema
    )
    return _converted(reader), unresolved


def _converted(reader: Any) -> Iterator[pl.DataFrame]:
    """pyarrow record batches as DataFrames (a type polars cannot import: ConfigError)."""
    for record_batch in reader:
        try:
            frame = to_frame(record_batch)
        except pl.exceptions.ComputeError as exc:
            raise _unreadable(exc) from None
        yield frame


def to_frame(batch: pa.RecordBatch) -> pl.DataFrame:
    """A pyarrow record batch as a DataFrame; NUMERIC (sent as text) becomes Decimal."""
    import pyarrow as pa

    columns = {}
    for field, array in zip(batch.schema, batch.columns, strict=True):
        if (
            isinstance(field.type, pa.ExtensionType)
            or field.type.__class__.__name__ == "OpaqueType"
        ):
            storage = array.storage if hasattr(array, "storage") else array
            series = cast(pl.Series, pl.from_arrow(storage))  # an array (not a table): a Series
            meta = field.metadata or {}
            if meta.get(b"POSTGRESQL:type") == b"numeric":
                series = series.cast(_numeric_type(meta, series))
            columns[field.name] = series
        else:
            columns[field.name] = cast(pl.Series, pl.from_arrow(array))
    return pl.DataFrame(columns)


def _numeric_type(meta: dict[bytes, bytes], text: pl.Series) -> pl.Decimal:
    """The decimal type of a NUMERIC column: from its type modifier, else from the values."""
    typmod = int(meta.get(b"POSTGRESQL:typmod", b"-1"))
    declared = pg_numeric.declared(typmod)
    return declared or pl.Decimal(pg_numeric.PRECISION, pg_numeric.scale_of(text))
