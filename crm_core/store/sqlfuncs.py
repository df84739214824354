"""SQL expressions that mean the same on SQLite and PostgreSQL, for aggregates the store
computes itself: an exact money sum, a timestamp's UTC day, a date some days earlier.

SQLite keeps money as text (:class:`~crm_core.store.types.ExactDecimal`) and its ``SUM``
would add it as floats: :func:`money_sum` runs ``hub_money_sum`` there, an aggregate of
exact decimals that :func:`register_sqlite_functions` adds to every store connection.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Integer, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from crm_core.store.types import ExactDecimal


class money_sum(FunctionElement[Decimal]):
    """``SUM`` of a money column, exact on every store (NULL when no row has a value)."""

    type = ExactDecimal()
    inherit_cache = True
    name = "money_sum"


class utc_day(FunctionElement[Any]):
    """The UTC calendar day of a timestamp column."""

    type = Date()
    inherit_cache = True
    name = "utc_day"


class days_before(FunctionElement[Any]):
    """``days_before(day, n)``: the date ``n`` days before the date ``day``."""

    type = Date()
    inherit_cache = True
    name = "days_before"

    def __init__(self, day: Any, days: int) -> None:
        super().__init__(day, literal(int(days), Integer()))


def _args(compiler: SQLCompiler, element: FunctionElement[Any], **kw: Any) -> list[str]:
    return [compiler.process(c, **kw) for c in element.clauses]


@compiles(money_sum)
def _money_sum(element: money_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum({_args(compiler, element, **kw)[0]})"


@compiles(money_sum, "sqlite")
def _money_sum_sqlite(element: money_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"hub_money_sum({_args(compiler, element, **kw)[0]})"


@compiles(utc_day)
def _utc_day(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({_args(compiler, element, **kw)[0]} AT TIME ZONE 'UTC') AS DATE)"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite holds naive UTC timestamps (crm_core.store.types.UTCDateTime)
    return f"date({_args(compiler, element, **kw)[0]})"


@compiles(days_before)
def _days_before(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = _args(compiler, element, **kw)
    return f"({day} - CAST({days} AS INTEGER))"


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = _args(compiler, element, **kw)
    return f"date({day}, '-' || ({days}) || ' days')"


class _MoneySum:
    """SQLite aggregate ``hub_money_sum``: the exact sum of decimal texts, as text."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            self.total = (self.total or Decimal(0)) + Decimal(str(value))

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Add the hub's SQL functions to a new SQLite connection."""
    dbapi_conn.create_aggregate("hub_money_sum", 1, _MoneySum)
