"""The generic SQL connector: any table or query that SQLAlchemy can reach.

A stream is read with one ordered query, streamed from a server-side cursor in
``batch_size`` partitions, so memory does not grow with the table. Incremental reads use
keyset order on ``cursor + primary key``: ``WHERE (c, k) > (:c, :k) ORDER BY c, k``, so
rows that share a cursor value are neither skipped nor read twice. PostgreSQL and SQLite
get it as that row comparison, which their planners turn into one range scan of an index
on ``(c, k)``; other databases get ``c >= :c AND (c > :c OR c = :c AND k > :k)``, which
every database understands and whose first term still starts an index range on ``c``
(an OR chain alone makes PostgreSQL walk the index from its start, filtering).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import BaseModel
from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Engine,
    FromClause,
    Select,
    and_,
    column,
    create_engine,
    inspect,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.types import NullType

from connectors import arrow_pg, timeouts
from connectors.base import SAMPLE_ROWS, BaseConnector, Options, frame_types, option_lines
from connectors.errors import first_line, install_hint, source_errors
from connectors.sql_write import write_record, write_records
from schemas.errors import ConfigError
from schemas.settings import SourceConfig, redact_url
from schemas.source import Decide, Position, StreamSpec, Write, WriteOutcome, WriteRequest

#: Databases whose planners use an index for a row comparison ``(c1, c2) > (v1, v2)``.
ROW_VALUE_BACKENDS = frozenset({"postgresql", "sqlite"})


def keyset_after(
    columns: Sequence[ColumnElement[Any]], values: Sequence[Any], row_value: bool = False
) -> ColumnElement[bool]:
    """``(c1, c2, ...) > (v1, v2, ...)``: as that row comparison with ``row_value``, else as
    ``c1 >= v1 AND (c1 > v1 OR (c1 = v1 AND c2 > v2) OR ...)``."""
    if len(columns) == 1:
        return columns[0] > values[0]
    if row_value:
        return tuple_(*columns) > tuple_(*values)
    terms = []
    for i, (col, value) in enumerate(zip(columns, values, strict=True)):
        equal_before = [c == v for c, v in zip(columns[:i], values[:i], strict=True)]
        terms.append(and_(*equal_before, col > value))
    return and_(columns[0] >= values[0], or_(*terms))


class SqlOptions(Options):
    """The source options of the SQL connector."""

    #: read PostgreSQL through ADBC into Arrow when the driver is installed
    columnar: bool = True


class SqlConnector(BaseConnector):
    """Reads declared tables or queries of any SQLAlchemy database, incrementally."""

    kind = "sql"
    url_required = True
    stamps_writes = True
    options_model: ClassVar[type[BaseModel] | None] = SqlOptions
    #: Backends read with a row-comparison keyset (see the module docstring); a dialect
    #: connector whose database lacks it sets its own.
    row_value_backends: ClassVar[frozenset[str]] = ROW_VALUE_BACKENDS

    def __init__(self, name: str, config: SourceConfig, base_dir: Path | None = None) -> None:
        super().__init__(name, config, base_dir)
        for spec in self.streams():
            if not spec.options.get("table") and not spec.options.get("query"):
                raise ConfigError(f"source {name!r} stream {spec.name!r}: give table or query")
        problems = self.config_problems()
        if problems:
            raise ConfigError(f"source {name!r}:", problems)
        self._engine: Engine | None = None
        #: the connection push-back writes through, one transaction per change
        self._writer: Connection | None = None
        self._adbc: arrow_pg.Database | None = None

    def config_problems(self) -> list[str]:
        """What is wrong with the source's options; dialect connectors add their checks."""
        return option_lines(self.option_problems(self.config.options))

    # -- connection -----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The source's URL (from the environment when ``url_env`` is used)."""
        return self.config.resolve_url(self.base_dir, f"source {self.name!r}")

    @property
    def parsed_url(self) -> URL:
        """The source's URL parsed (no engine, no driver import)."""
        url = self.url
        try:
            return make_url(url)
        except ArgumentError as exc:
            raise ConfigError(f"source {self.name!r}: bad URL {redact_url(url)}: {exc}") from None

    @property
    def backend(self) -> str:
        """The database kind of the URL (``postgresql``, ``sqlite``, ...)."""
        return self.parsed_url.get_backend_name()

    @property
    def engine(self) -> Engine:
        """The source's engine, created on first use."""
        if self._engine is None:
            url = self.url
            try:
                self._engine = create_engine(url, **self.engine_options())
            except (NoSuchModuleError, ImportError) as exc:
                backend = make_url(url).get_backend_name()
                raise ConfigError(
                    f"source {self.name!r}: no driver for {redact_url(url)}: {exc}; "
                    f"install it with: {install_hint(exc, backend)}"
                ) from None
            except (SQLAlchemyError, ValueError) as exc:
                raise ConfigError(
                    f"source {self.name!r}: bad URL {redact_url(url)}: {exc}"
                ) from None
        return self._engine

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for ``create_engine``; dialect connectors add theirs. The
        driver's waits are bounded by the source's ``timeouts`` (:mod:`connectors.timeouts`)."""
        url = self.parsed_url
        options: dict[str, Any] = {
            "pool_pre_ping": True,
            "pool_size": self.config.max_connections,
        }
        args = timeouts.connect_args(
            url.get_backend_name(), url.get_driver_name(), self.config.timeouts
        )
        if args:
            options["connect_args"] = args
        return options

    def close(self) -> None:
        """Dispose of the engine's connections and the columnar reads' database handle."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None

    # -- queries --------------------------------------------------------------------
    def source_of(self, spec: StreamSpec) -> FromClause:
        """The table or query a stream reads from, with its position columns known."""
        return stream_from(spec)

    def query(self, spec: StreamSpec, since: Position | None) -> Select[Any]:
        """The ordered SELECT for a stream, after ``since`` when given."""
        row_value = self.backend in self.row_value_backends
        return ordered_select(self.source_of(spec), spec, since, row_value=row_value)

    def probe_query(self, spec: StreamSpec, rows: int = 1) -> Select[Any]:
        """The first ``rows`` rows of a stream, the query ``check`` runs (dialect connectors
        may page it)."""
        return self.query(spec, None).limit(rows)

    def describe_error(self, exc: BaseException) -> str | None:
        """A clearer one-line message for a driver error, or None for the driver's own."""
        return None

    def read(self, stream: str, since: Position | None, batch_size: int) -> Iterator[pl.DataFrame]:
        """Stream the rows after ``since`` in partitions of ``batch_size``, as DataFrames."""
        spec = self.stream(stream)
        stmt = self.query(spec, since if spec.incremental else None)
        whole = not spec.incremental or since is None
        yield from self._batches(stmt, stream, batch_size, whole)

    def prepare(self, stream: str) -> None:
        """Open the columnar reads' database handle in the background (~10 ms: the driver
        is loaded and set up), while the engine opens the run; a read waits for it."""
        if self.columnar_reads():
            self._columnar().open_ahead()

    def read_keys(
        self, stream: str, columns: Sequence[str], batch_size: int
    ) -> Iterator[pl.DataFrame]:
        """Every row's ``columns`` only (``SELECT pk ... ORDER BY pk``), in batches."""
        spec = key_spec(self.stream(stream), columns)
        stmt = ordered_select(self.source_of(spec), spec, None, columns_only=True)
        yield from self._batches(stmt, stream, batch_size, whole=True)

    def _batches(
        self, stmt: Select[Any], stream: str, batch_size: int, whole: bool
    ) -> Iterator[pl.DataFrame]:
        if self.columnar_reads():
            with self._errors(f"reading stream {stream!r}"):
                yield from arrow_pg.read_batches(self._columnar(), stmt, batch_size, whole=whole)
            return
        with self._errors(f"reading stream {stream!r}"), self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=batch_size)
            rows = result.execute(stmt)
            names = list(rows.keys())
            for part in rows.partitions(batch_size):
                yield rows_to_frame(names, part)

    def _columnar(self) -> arrow_pg.Database:
        """The columnar reads' database (its handle opened by the first read, or ahead)."""
        if self._adbc is None:
            url = self.parsed_url.update_query_dict(timeouts.libpq_params(self.config.timeouts))
            self._adbc = arrow_pg.Database(url, builtin_types=True)
        return self._adbc

    def columnar_reads(self) -> bool:
        """Whether reads go through ADBC into Arrow: PostgreSQL with the driver installed,
        unless the source sets the option ``columnar: false``. Decided from the URL: that
        path needs no SQLAlchemy engine at all."""
        return (
            self.backend == "postgresql"
            and bool(self.config.options.get("columnar", True))
            and arrow_pg.available()
        )

    def check(self) -> None:
        """Connect and read one row of every stream; report missing key or cursor columns.
        A SQLite file that does not exist is reported, not created."""
        parsed = self.parsed_url
        db = parsed.database
        plain_file = (
            self.backend == "sqlite" and db and db != ":memory:" and "uri" not in parsed.query
        )
        if plain_file and not Path(str(db)).exists():
            raise ConfigError(f"source {self.name!r}: the SQLite file {db} does not exist")
        problems = []
        with self._errors("checking"), self.engine.connect() as conn:
            for spec in self.streams():
                try:
                    result = conn.execute(self.probe_query(spec))
                except DBAPIError as exc:
                    conn.rollback()
                    detail = self.describe_error(exc) or first_line(exc)
                    problems.append(f"stream {spec.name!r}: {detail}")
                    continue
                present = set(result.keys())
                missing = [c for c in spec.order_by if c not in present]
                if missing:
                    problems.append(f"stream {spec.name!r}: no column(s) {', '.join(missing)}")
        if problems:
            raise ConfigError(f"source {self.name!r} ({redact_url(self.url)}):", problems)

    def column_types(self, stream: str) -> dict[str, str]:
        """The columns of the stream's first rows, typed as the table declares them (the
        rows' own types for a query, or where the catalogue cannot be read)."""
        spec = self.stream(stream)
        with (
            self._errors(f"reading the columns of stream {stream!r}"),
            self.engine.connect() as conn,
        ):
            result = conn.execute(self.probe_query(spec, SAMPLE_ROWS))
            # the driver's own names: SQLAlchemy would lower-case Db2's upper-case ones
            names = [d[0] for d in result.cursor.description]
            sampled = frame_types(rows_to_frame(names, result.fetchall()))
            declared = declared_types(conn, spec)
        return {n: declared.get(n, declared.get(n.lower(), "")) or sampled[n] for n in names}

    def write(self, request: WriteRequest, decide: Decide) -> WriteOutcome:
        """Apply one change in one transaction, the record locked while ``decide`` looks
        at it (see :mod:`connectors.sql_write`)."""
        spec = self.stream(request.stream)
        with self._errors(f"writing to stream {request.stream!r}"):
            if self._writer is None:
                self._writer = self.engine.connect()
            try:
                return write_record(self._writer, spec, request, decide)
            except BaseException:
                self._writer.invalidate()  # a broken or unknown state: the next write reconnects
                self._writer.close()
                self._writer = None
                raise

    def write_many(self, writes: Sequence[Write]) -> list[WriteOutcome | Exception]:
        """Apply changes to different records, a stream's changes in one transaction with
        one locked read of their records (see :func:`connectors.sql_write.write_records`);
        a change the target refuses is written on its own and gets its own error."""
        out: list[WriteOutcome | Exception] = [RuntimeError("not written")] * len(writes)
        by_stream: dict[str, list[int]] = {}
        for i, (request, _) in enumerate(writes):
            by_stream.setdefault(request.stream, []).append(i)
        for stream, places in by_stream.items():
            doing = f"writing to stream {stream!r}"
            spec = self.stream(stream)
            with self._errors(doing):
                if self._writer is None:
                    self._writer = self.engine.connect()
                try:
                    done = write_records(self._writer, spec, [writes[i] for i in places])
                except BaseException:
                    self._writer.invalidate()
                    self._writer.close()
                    self._writer = None
                    raise
            for i, outcome in zip(places, done, strict=True):
                out[i] = (
                    outcome if isinstance(outcome, WriteOutcome) else self._as_hub(doing, outcome)
                )
        return out

    def _as_hub(self, doing: str, exc: Exception) -> Exception:
        """A change's driver error as :meth:`write` would raise it (others unchanged)."""
        try:
            with self._errors(doing):
                raise exc
        except Exception as translated:  # noqa: BLE001 - returned, not swallowed
            return translated

    def _errors(self, doing: str) -> AbstractContextManager[None]:
        return source_errors(self.name, self.url, doing, self.describe_error)


def declared_types(conn: Connection, spec: StreamSpec) -> dict[str, str]:
    """The declared types of a table stream's columns by name (also lower-cased, as
    SQLAlchemy reflects Db2's names), in the database's own words; empty for a query or a
    table whose catalogue cannot be read."""
    table_name = spec.options.get("table")
    if not table_name or spec.options.get("query"):
        return {}
    try:
        reflected = inspect(conn).get_columns(table_name, schema=spec.options.get("schema"))
    except SQLAlchemyError:
        conn.rollback()
        return {}
    out: dict[str, str] = {}
    for col in reflected:
        sqltype = col["type"]
        try:
            name = "" if isinstance(sqltype, NullType) else sqltype.compile(dialect=conn.dialect)
        except SQLAlchemyError:
            name = ""
        out[col["name"]] = out[col["name"].lower()] = name
    return out


def stream_from(spec: StreamSpec) -> FromClause:
    """The table or query a stream reads from, with its position columns known."""
    order: list[ColumnClause[Any]] = [column(c) for c in spec.order_by]
    if spec.options.get("query"):
        return text(spec.options["query"]).columns(*order).subquery("q")
    return table(spec.options["table"], *order, schema=spec.options.get("schema"))


def key_spec(spec: StreamSpec, columns: Sequence[str]) -> StreamSpec:
    """A stream read for its keys only: ``columns`` (the primary key first), ordered by
    them, no cursor."""
    wanted = tuple(dict.fromkeys([*spec.primary_key, *columns]))
    return StreamSpec(spec.name, wanted, (), wanted, spec.options)


def ordered_select(
    src: FromClause,
    spec: StreamSpec,
    since: Position | None,
    row_value: bool = False,
    columns_only: bool = False,
) -> Select[Any]:
    """``SELECT * FROM src`` in position order, after ``since`` when given (as a row
    comparison with ``row_value``, see :func:`keyset_after`); with ``columns_only`` just
    the position columns (a keys-only read)."""
    keys = [src.c[c] for c in spec.order_by]
    shown: list[Any] = list(keys) if columns_only else [literal_column("*")]
    stmt: Select[Any] = select(*shown).select_from(src).order_by(*keys)
    if since is not None:
        stmt = stmt.where(keyset_after(keys, list(since), row_value=row_value))
    return stmt


def rows_to_frame(names: list[str], rows: Sequence[Sequence[Any]]) -> pl.DataFrame:
    """Rows as a DataFrame, column types inferred from all values.

    A column whose values do not share one type (SQLite allows text in a numeric column)
    is kept as text, so that the mapping can reject the odd values instead of them being
    silently lost in a cast.
    """
    try:
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    except (TypeError, pl.exceptions.PolarsError):
        columns = {}
        for i, name in enumerate(names):
            values = [r[i] for r in rows]
            try:
                columns[name] = pl.Series(name, values)
            except (TypeError, pl.exceptions.PolarsError):
                columns[name] = pl.Series(
                    name, [None if v is None else str(v) for v in values], dtype=pl.Utf8
                )
        return pl.DataFrame(columns)


def position_of(row: Any, names: list[str], spec: StreamSpec) -> tuple[Any, ...]:
    """The position (``spec.order_by`` values) of a result row; a name matches exactly or,
    as Db2 folds unquoted names, upper-cased."""
    folded = [n.upper() for n in names]
    out = []
    for col in spec.order_by:
        if col in names:
            out.append(row[names.index(col)])
        elif col.upper() in folded:
            out.append(row[folded.index(col.upper())])
        else:
            raise ConfigError(
                f"stream {spec.name!r}: no column {col!r} in the result ({', '.join(names)})"
            )
    return tuple(out)
