"""The ODBC connector: any database with an ODBC driver, through pyodbc and unixODBC.

A stream is read in keyset order (the same SQL as the SQL connector's, compiled with ``?``
markers and the identifier quote the driver reports), one of two ways (``options.paging``):

- ``cursor``: one statement, read with ``fetchmany(batch_size)``; for drivers that stream
  a result (psqlODBC in its declare/fetch mode, see ``connstr.STREAMING_DEFAULTS``).
- ``keyset``: one statement per batch, ``... ORDER BY c, k LIMIT n`` (``FETCH FIRST n ROWS
  ONLY`` elsewhere) after the last row of the batch before. The default for MariaDB and
  MySQL: their Connector/ODBC 3.1 holds a whole result in client memory whatever its
  options (measured: +141 MB at execute for 1.6 million rows), pages keep it to a batch.

Values keep their types: DECIMAL as ``Decimal``, DATE as ``date``, text as Unicode.

Time zones: ODBC has no zoned timestamp type, so a driver returns timestamps naive;
psqlODBC even drops the offset of ``timestamptz``, giving the session zone's wall time.
``options.timezone`` (an IANA name, default UTC) says which zone the source's naive
timestamps are in: on PostgreSQL the session zone is set to it, and every naive timestamp
column is labelled with it and converted to UTC, so positions (watermarks) are
timezone-aware. A position is turned back into the source's wall time to be bound.

MariaDB and MySQL: their Connector/ODBC (3.1.15, Debian 12) truncates some utf8mb4 text
fetched as wide characters (``...有限公司`` comes back as ``...有限公``) and appends a NUL to
wide-character parameters, so with those servers pyodbc exchanges text as UTF-8
(``SQL_C_CHAR``), which the Unicode driver delivers intact. Fetching DECIMAL through
pyodbc's own decimal path leaks about 45 bytes a value with that driver (measured: +9 MB
per 200,000 values, flat with PostgreSQL), so DECIMAL is read as its text, which
``frames.to_frame`` casts per column.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, closing, suppress
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from pydantic import Field
from sqlalchemy import ColumnClause, literal_column
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.sql.compiler import IdentifierPreparer

from connectors import timeouts
from connectors.base import BaseConnector, Options, option_lines
from connectors.errors import first_line, source_errors
from connectors.odbc.connstr import connection_string
from connectors.odbc.frames import DecimalText, to_frame
from connectors.sql import key_spec, ordered_select, position_of, stream_from
from connectors.sql_write import decide_and_write, statements
from schemas.errors import ConfigError
from schemas.settings import SourceConfig, redact_url
from schemas.source import Decide, Position, StreamSpec, WriteOutcome, WriteRequest

if TYPE_CHECKING:
    import pyodbc

UTC = "UTC"
#: A cursor's description: (name, Python type, display size, size, precision, scale, null ok)
Description = Sequence[Sequence[Any]]
#: Servers whose ODBC driver exchanges text correctly only as UTF-8 (module docstring).
UTF8_TEXT_DBMS = ("mariadb", "mysql")
#: Servers paged with LIMIT (MySQL has no FETCH FIRST), and paged by default (docstring).
LIMIT_DBMS = ("mariadb", "mysql")


def _pyodbc() -> Any:
    try:
        import pyodbc
    except ImportError as exc:  # pyodbc missing, or unixODBC's libodbc.so.2 missing
        raise ConfigError(
            f"the ODBC connector needs pyodbc and unixODBC ({exc}); install them with: "
            "pip install 'crm-hub[odbc]' and apt-get install unixodbc <driver package>"
        ) from None
    return pyodbc


def sql_dialect(quote_char: str) -> DefaultDialect:
    """A generic SQL dialect with ``?`` markers and the driver's identifier quote."""
    dialect = DefaultDialect(paramstyle="qmark")
    dialect.identifier_preparer = IdentifierPreparer(dialect, initial_quote=quote_char or '"')
    return dialect


class OdbcOptions(Options):
    """The source options of the ODBC connector (see docs/connectors.md); ``timezone`` and
    ``paging`` are checked with their own messages."""

    driver: str | None = None
    dsn: str | None = None
    timezone: Any = UTC
    #: more connection-string keywords (never a secret: the config file refuses those)
    connection: dict[str, str | int | float | bool] = Field(default_factory=dict)
    paging: Any = None
    login_timeout: int | None = Field(default=None, gt=0)  # default: timeouts.connect


class OdbcConnector(BaseConnector):
    """Reads declared tables or queries through an ODBC driver, incrementally."""

    kind = "odbc"
    url_required = True
    stamps_writes = True
    options_model = OdbcOptions

    def __init__(self, name: str, config: SourceConfig, base_dir: Path | None = None) -> None:
        super().__init__(name, config, base_dir)
        #: the connection push-back writes through, one transaction per change
        self._writer: pyodbc.Connection | None = None
        for spec in self.streams():
            if not spec.options.get("table") and not spec.options.get("query"):
                raise ConfigError(f"source {name!r} stream {spec.name!r}: give table or query")
        problems = option_lines(self.option_problems(config.options))
        zone = str(config.options.get("timezone", UTC))
        try:
            self.timezone = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"options.timezone: {zone!r} is not an IANA time zone")
        if config.options.get("paging", "keyset") not in ("keyset", "cursor"):
            problems.append(f"options.paging: {config.options['paging']!r} is not keyset or cursor")
        if problems:
            raise ConfigError(f"source {name!r}:", problems)

    # -- connection -----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The source's ``odbc://`` URL (from the environment when ``url_env`` is used)."""
        return self.config.resolve_url(self.base_dir, f"source {self.name!r}")

    def connection_string(self) -> str:
        """The ODBC connection string (holds the password: never log it)."""
        try:
            return connection_string(self.url, self.config.options)
        except ConfigError as exc:
            raise ConfigError(f"source {self.name!r}: {exc}") from None

    def connect(self) -> pyodbc.Connection:
        """A new connection, its session set to the source's time zone where it has one."""
        pyodbc = _pyodbc()
        login = self.config.options.get("login_timeout", self.config.timeouts.connect)
        timeout = max(1, round(float(login)))
        conn = pyodbc.connect(self.connection_string(), autocommit=False, timeout=timeout)
        timeouts.odbc_query_timeout(conn, self.config.timeouts)
        dbms = _dbms(conn)
        if dbms.startswith(UTF8_TEXT_DBMS):  # see the module docstring
            conn.setdecoding(pyodbc.SQL_CHAR, encoding="utf-8")
            conn.setdecoding(pyodbc.SQL_WCHAR, encoding="utf-8")
            conn.setencoding(encoding="utf-8")
            for sql_type in (pyodbc.SQL_DECIMAL, pyodbc.SQL_NUMERIC):
                conn.add_output_converter(sql_type, _decimal)
        if dbms.startswith("postgres"):
            conn.execute("SELECT set_config('TimeZone', ?, false)", self.timezone.key)
            conn.commit()
        return conn

    # -- queries --------------------------------------------------------------------
    def query(
        self,
        conn: pyodbc.Connection,
        spec: StreamSpec,
        after: Position | None,
        limit: int | None = None,
        columns_only: bool = False,
    ) -> tuple[str, list[Any]]:
        """The ordered SELECT after a position given in the source's terms (``to_source``),
        at most ``limit`` rows, as SQL with ``?`` markers and its values (with
        ``columns_only``, of the position columns alone: a keys-only read)."""
        quote = conn.getinfo(_pyodbc().SQL_IDENTIFIER_QUOTE_CHAR).strip()
        stmt = ordered_select(stream_from(spec), spec, after, columns_only=columns_only)
        if limit is not None:
            count: ColumnClause[int] = literal_column(str(int(limit)))
            stmt = stmt.limit(count) if _dbms(conn).startswith(LIMIT_DBMS) else stmt.fetch(count)
        compiled = stmt.compile(dialect=sql_dialect(quote))
        params = compiled.construct_params()
        return str(compiled), [params[name] for name in compiled.positiontup or []]

    def paging(self, conn: pyodbc.Connection) -> str:
        """``keyset`` or ``cursor`` (module docstring): the option, else by the server."""
        chosen = self.config.options.get("paging")
        if chosen is None:
            return "keyset" if _dbms(conn).startswith(LIMIT_DBMS) else "cursor"
        return str(chosen)

    def to_source(self, position: Position | None) -> Position | None:
        """A position with aware timestamps as the source's naive wall time."""
        if position is None:
            return None
        return tuple(
            v.astimezone(self.timezone).replace(tzinfo=None)
            if isinstance(v, datetime) and v.tzinfo is not None
            else v
            for v in position
        )

    def read(self, stream: str, since: Position | None, batch_size: int) -> Iterator[pl.DataFrame]:
        """Yield the rows after ``since`` in batches of at most ``batch_size``, as DataFrames."""
        spec = self.stream(stream)
        after = self.to_source(since) if spec.incremental else None
        yield from self._read(spec, after, batch_size, columns_only=False)

    def read_keys(
        self, stream: str, columns: Sequence[str], batch_size: int
    ) -> Iterator[pl.DataFrame]:
        """Every row's ``columns`` only (``SELECT pk ... ORDER BY pk``), in batches."""
        yield from self._read(
            key_spec(self.stream(stream), columns), None, batch_size, columns_only=True
        )

    def _read(
        self, spec: StreamSpec, after: Position | None, batch_size: int, columns_only: bool
    ) -> Iterator[pl.DataFrame]:
        with self._errors(f"reading stream {spec.name!r}"), closing(self.connect()) as conn:
            if self.paging(conn) == "cursor":
                parts = self._fetchmany(conn, spec, after, batch_size, columns_only)
            else:
                parts = self._pages(conn, spec, after, batch_size, columns_only)
            for description, rows in parts:
                yield self.frame(description, rows)
            conn.rollback()  # a read-only unit of work: end it, release its snapshot

    def _fetchmany(
        self,
        conn: pyodbc.Connection,
        spec: StreamSpec,
        after: Position | None,
        size: int,
        columns_only: bool = False,
    ) -> Iterator[tuple[Description, list[Any]]]:
        sql, params = self.query(conn, spec, after, columns_only=columns_only)
        with closing(conn.cursor()) as cur:
            cur.arraysize = size
            cur.execute(sql, params)
            while rows := cur.fetchmany(size):
                yield cur.description, rows

    def _pages(
        self,
        conn: pyodbc.Connection,
        spec: StreamSpec,
        after: Position | None,
        size: int,
        columns_only: bool = False,
    ) -> Iterator[tuple[Description, list[Any]]]:
        while True:
            sql, params = self.query(conn, spec, after, size, columns_only)
            with closing(conn.cursor()) as cur:
                cur.execute(sql, params)
                description = cur.description
                rows = cur.fetchall()
            if rows:
                yield description, rows
            if len(rows) < size:
                return
            # the last row's raw values are in the source's own terms (DECIMAL may be text)
            last = [Decimal(v) if isinstance(v, DecimalText) else v for v in rows[-1]]
            after = position_of(last, [d[0] for d in description], spec)

    def frame(self, description: Description, rows: Sequence[Any]) -> pl.DataFrame:
        """Rows as a DataFrame; naive timestamps become UTC, taken in the source's zone."""
        df = to_frame(description, rows)
        naive = [
            n for n, t in df.schema.items() if isinstance(t, pl.Datetime) and t.time_zone is None
        ]
        if not naive:
            return df
        return df.with_columns(
            pl.col(n)
            .dt.replace_time_zone(self.timezone.key, ambiguous="earliest")
            .dt.convert_time_zone(UTC)
            for n in naive
        )

    def check(self) -> None:
        """Connect and read one row of every stream; report missing key or cursor columns."""
        problems = []
        with self._errors("checking"), closing(self.connect()) as conn:
            for spec in self.streams():
                sql, params = self.query(conn, spec, None, limit=1)
                try:
                    with closing(conn.cursor()) as cur:
                        cur.execute(sql, params)
                        present = {d[0] for d in cur.description}
                        cur.fetchone()
                except _pyodbc().Error as exc:
                    problems.append(f"stream {spec.name!r}: {first_line(exc)}")
                    conn.rollback()
                    continue
                missing = [c for c in spec.order_by if c not in present]
                if missing:
                    problems.append(f"stream {spec.name!r}: no column(s) {', '.join(missing)}")
            conn.rollback()
        if problems:
            raise ConfigError(f"source {self.name!r} ({redact_url(self.url)}):", problems)

    def column_types(self, stream: str) -> dict[str, str]:
        """The columns of the stream's first row with the type the driver gives for each
        (``str``, ``Decimal``, ``date``, ``datetime``...: ODBC's SQL types as Python's)."""
        spec = self.stream(stream)
        with (
            self._errors(f"reading the columns of stream {stream!r}"),
            closing(self.connect()) as conn,
        ):
            sql, params = self.query(conn, spec, None, limit=1)
            with closing(conn.cursor()) as cur:
                cur.execute(sql, params)
                description = cur.description
                cur.fetchall()
            conn.rollback()
        return {d[0]: getattr(d[1], "__name__", "") for d in description}

    def write(self, request: WriteRequest, decide: Decide) -> WriteOutcome:
        """Apply one change in one transaction: the record read with ``FOR UPDATE``, then
        updated or inserted if ``decide`` says so (see :mod:`connectors.sql_write`)."""
        spec = self.stream(request.stream)
        values = dict(
            zip(request.values, self.to_source(tuple(request.values.values())) or (), strict=True)
        )
        key = dict(zip(request.key, self.to_source(tuple(request.key.values())) or (), strict=True))
        sql = statements("odbc", spec, replace(request, key=key, values=values))
        with self._errors(f"writing to stream {request.stream!r}"):
            if self._writer is None:
                self._writer = self.connect()
            conn = self._writer
            dialect = sql_dialect(conn.getinfo(_pyodbc().SQL_IDENTIFIER_QUOTE_CHAR).strip())

            def run(cur: Any, stmt: Any) -> None:
                compiled = stmt.compile(dialect=dialect)
                params = compiled.construct_params()
                cur.execute(str(compiled), [params[n] for n in compiled.positiontup or []])

            def read(cur: Any) -> Any:
                run(cur, sql.read)
                return cur.fetchone()

            try:
                with closing(conn.cursor()) as cur:
                    outcome = decide_and_write(
                        request,
                        decide,
                        lambda: read(cur),
                        lambda insert: run(cur, sql.insert if insert else sql.update),
                    )
                conn.commit()
            except BaseException:
                self._drop_writer()
                raise
        return outcome

    def _drop_writer(self) -> None:
        """Roll back and close the write connection (the next write opens a new one)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with suppress(Exception):
                writer.rollback()
            with suppress(Exception):
                writer.close()

    def close(self) -> None:
        """Close the connection push-back writes through, if one is open."""
        self._drop_writer()

    def _errors(self, doing: str) -> AbstractContextManager[None]:
        return source_errors(self.name, self.url, doing, describe_error)


def _decimal(raw: bytes | None) -> DecimalText | None:
    """A DECIMAL value as the text the driver gives for it (made Decimal by the frame)."""
    return None if raw is None else DecimalText(raw.decode("ascii"))


def _dbms(conn: pyodbc.Connection) -> str:
    """The server's product name in lower case (``mariadb``, ``postgresql``...)."""
    return str(conn.getinfo(_pyodbc().SQL_DBMS_NAME)).lower()


def describe_error(exc: BaseException) -> str | None:
    """pyodbc's ``('HY000', '[HY000] [driver]message (code) (SQLDriverConnect)')`` as the
    driver's message with its SQLSTATE."""
    args = exc.args
    if len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], str):
        message = args[1].split("\n")[0]
        while message.startswith("[") and "]" in message:  # [state] [unixODBC][driver]
            message = message.split("]", 1)[1].lstrip()
        message = message.replace("(SQLDriverConnect)", "").replace("(SQLExecDirectW)", "")
        return f"{message.strip()} (SQLSTATE {args[0]}){_what_is_installed(args[0], message)}"
    return None


def _what_is_installed(state: str, message: str) -> str:
    """For a driver or DSN that unixODBC cannot find, the drivers (and data sources) it
    has, so a wrong name (``PostgreSQL`` for ``PostgreSQL Unicode``) is one look away."""
    if "Can't open lib" not in message and state != "IM002":
        return ""
    pyodbc = _pyodbc()
    drivers = ", ".join(repr(d) for d in pyodbc.drivers()) or "none"
    found = f"; installed ODBC drivers: {drivers}"
    if state == "IM002":
        sources = ", ".join(repr(d) for d in pyodbc.dataSources()) or "none"
        found += f"; data sources (odbc.ini): {sources}"
    return found
