"""The DB2 connector: Db2 for LUW and Db2 for i through ibm_db and SQLAlchemy's ibm_db_sa.

It reads like the SQL connector (keyset order on ``cursor + primary key``), but in pages:
every batch is one short statement ``... ORDER BY c, k FETCH FIRST n ROWS ONLY``, starting
after the last row of the page before. No cursor stays open on the server between batches,
so a long extract holds no locks and survives the host's idle-cursor limits, and a restart
resumes from the engine's position exactly as the next page would.

Isolation: by default a statement runs at the connection's isolation level, which is the
server's default, cursor stability (CS). ``options: {isolation: UR}`` (per source, or per
stream in the stream's ``options``) appends ``WITH UR``: uncommitted read, no read locks, no
waiting on writers. Extracts that re-read by keyset and upsert by key tolerate a row that is
later rolled back (the next run reads it again), so UR suits busy production files; CS, RS
and RR are accepted too.

Blank-padded CHAR columns arrive padded; the mapping trims them (``trim``), and positions
keep the padded value, which Db2 compares equal to the trimmed one anyway.

``options: {stand_in: true}`` lets the same code run on another database (PostgreSQL or
SQLite: the tests and demos, since no Db2 server can run everywhere). Everything is the
same there except what the stand-in's SQL dialect renders: no isolation clause (it is
declared for the ibm_db_sa dialect only), and on SQLite ``LIMIT n`` for ``FETCH FIRST``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from pydantic import BaseModel
from sqlalchemy import Dialect, Select, literal_column
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connectors.base import Options
from connectors.db2 import errors
from connectors.sql import SqlConnector, position_of, rows_to_frame
from schemas.errors import ConfigError
from schemas.settings import SourceConfig, redact_url
from schemas.source import Position, StreamSpec

#: The SQLAlchemy dialect name of ibm_db_sa (Db2 for LUW and for i alike).
DIALECT = "ibm_db_sa"
#: URL schemes (backend names) that reach Db2.
DB2_BACKENDS = {"db2", "ibm_db_sa", "db2as400"}
ISOLATION = {
    "UR": "uncommitted read",
    "CS": "cursor stability",
    "RS": "read stability",
    "RR": "repeatable read",
}
#: Dialects of stand-in databases without the standard FETCH FIRST clause.
NO_FETCH_FIRST = {"sqlite"}


class Db2Options(Options):
    """The source options of the DB2 connector (see the module docstring)."""

    #: UR, CS, RS or RR (checked with its own message, for streams' options too)
    isolation: Any = None
    stand_in: bool = False


class Db2Connector(SqlConnector):
    """Reads Db2 tables or queries in keyset pages with ``FETCH FIRST n ROWS ONLY``."""

    kind = "db2"
    options_model: ClassVar[type[BaseModel] | None] = Db2Options
    #: Db2 keeps the portable keyset, which every Db2 (LUW, i, z/OS) accepts, and so is
    #: the SQL it sends to a stand-in database.
    row_value_backends: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, config: SourceConfig, base_dir: Path | None = None) -> None:
        super().__init__(name, config, base_dir)
        self.stand_in = bool(config.options.get("stand_in", False))

    def config_problems(self) -> list[str]:
        """Unknown options, and isolation levels Db2 does not have."""
        problems = super().config_problems()
        options = self.config.options
        for where, value in [("options", options.get("isolation"))] + [
            (f"streams.{s.name}.options", s.options.get("isolation")) for s in self.streams()
        ]:
            if value is not None and str(value).upper() not in ISOLATION:
                problems.append(
                    f"{where}.isolation: {value!r} is not one of {', '.join(ISOLATION)}"
                )
        return problems

    @property
    def url(self) -> str:
        """The Db2 URL (``db2+ibm_db://user:pw@host:50000/DB``); see ``stand_in``."""
        url = super().url
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend not in DB2_BACKENDS and not self.stand_in:
            raise ConfigError(
                f"source {self.name!r}: kind db2 needs a db2+ibm_db:// URL, not "
                f"{redact_url(url)}; set options.stand_in: true to run the DB2 code path on "
                "another database (tests, demos)"
            )
        return url

    def isolation(self, spec: StreamSpec) -> str | None:
        """The stream's isolation clause level (``UR``, ``CS``...), or None for the default."""
        value = spec.options.get("isolation", self.config.options.get("isolation"))
        return str(value).upper() if value else None

    def columnar_reads(self) -> bool:
        """Never: pages are read through the driver (ADBC is PostgreSQL's fast path only)."""
        return False

    # -- queries --------------------------------------------------------------------
    def query(self, spec: StreamSpec, since: Position | None) -> Select[Any]:
        """The ordered SELECT after ``since``, with ``WITH <isolation>`` on Db2."""
        stmt = super().query(spec, since)
        level = self.isolation(spec)
        return stmt.suffix_with(f"WITH {level}", dialect=DIALECT) if level else stmt

    def page_query(self, spec: StreamSpec, after: Position | None, size: int) -> Select[Any]:
        """One page: the first ``size`` rows after ``after``, in position order."""
        return fetch_first(self.query(spec, after), size, self.engine.dialect)

    def probe_query(self, spec: StreamSpec, rows: int = 1) -> Select[Any]:
        """The first ``rows`` rows of a stream, for ``check``."""
        return self.page_query(spec, None, rows)

    def read(self, stream: str, since: Position | None, batch_size: int) -> Iterator[pl.DataFrame]:
        """Yield pages of ``batch_size`` rows after ``since`` until a short page ends it."""
        spec = self.stream(stream)
        after = since if spec.incremental else None
        with self._errors(f"reading stream {stream!r}"), self.engine.connect() as conn:
            while True:
                result = conn.execute(self.page_query(spec, after, batch_size))
                # the driver's own column names: SQLAlchemy would lower-case Db2's upper-case
                names = [d[0] for d in result.cursor.description]
                rows = result.fetchall()
                conn.commit()  # end the unit of work: no locks held between pages
                if rows:
                    yield rows_to_frame(names, rows)
                if len(rows) < batch_size:
                    return
                after = position_of(rows[-1], names, spec)

    def describe_error(self, exc: BaseException) -> str | None:
        """Db2's SQLnnnnN errors as one line naming host and port (never the password)."""
        return errors.explain(exc, super().url)


def fetch_first(stmt: Select[Any], size: int, dialect: Dialect) -> Select[Any]:
    """``stmt`` limited to ``size`` rows: ``FETCH FIRST size ROWS ONLY`` (LIMIT on SQLite).

    The count is a literal, not a parameter: Db2 for i before 7.3 accepts only an integer
    constant there, and a literal lets the optimiser plan for the page size.
    """
    count = int(size)
    if count < 1:
        raise ValueError(f"page size must be positive, not {size}")
    if dialect.name in NO_FETCH_FIRST:
        return stmt.limit(count)
    return stmt.fetch(literal_column(str(count)))
