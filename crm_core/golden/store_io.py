"""Reading the store for reconciliation: source customer records, their links to golden
customers, the golden customers themselves, and the stewards' pins."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import Connection, and_, func, select

from crm_core.golden.ids import Link, Record
from crm_core.golden.survivorship import Pin
from crm_core.store.tables import (
    RECORD_TABLES,
    golden_customers,
    golden_stewardship,
    runs,
    source_links,
)

customers = RECORD_TABLES["customers"]
#: The stream name used for a record whose loading run is unknown.
DEFAULT_STREAM = "customers"
#: Columns of the store's customer records that matching and survivorship read.
CUSTOMER_COLUMNS = (
    "source",
    "customer_id",
    "kind",
    "name",
    "tax_id",
    "email",
    "phone",
    "street",
    "street2",
    "city",
    "region",
    "postcode",
    "country",
    "updated_at",
    "run_id",
    "loaded_at",
)
CHUNK = 2000
T = TypeVar("T")


@dataclass(frozen=True)
class StoredLink:
    """A record's row in ``source_links``."""

    golden_id: str
    stream: str
    linked_at: datetime
    rule: str | None
    record_loaded_at: datetime | None

    def link(self) -> Link:
        """The part of it golden ids are decided on."""
        return Link(self.golden_id, self.linked_at)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _customer_select() -> Any:
    stream = func.coalesce(runs.c.stream, DEFAULT_STREAM).label("stream")
    cols = [customers.c[c] for c in CUSTOMER_COLUMNS]
    return select(*cols, stream).select_from(
        customers.outerjoin(runs, runs.c.id == customers.c.run_id)
    )


def _frame(rows: Iterable[Any], extra: Sequence[str] = ()) -> pl.DataFrame:
    names = [*CUSTOMER_COLUMNS, "stream", *extra]
    schema: dict[str, Any] = dict.fromkeys(names, pl.String)
    schema.update(
        updated_at=pl.Datetime("us", "UTC"), loaded_at=pl.Datetime("us", "UTC"), run_id=pl.Int64
    )
    data = [tuple(r) for r in rows]
    return pl.DataFrame(data, schema=schema, orient="row")


def read_customers(conn: Connection, only: Sequence[Record] | None = None) -> pl.DataFrame:
    """The store's customer records (all, or the ``only`` ones), with the stream that
    loaded each."""
    if only is None:
        return _frame(conn.execute(_customer_select()))
    rows: list[Any] = []
    by_source: dict[str, list[str]] = {}
    for source, key in only:
        by_source.setdefault(source, []).append(key)
    for source, keys in by_source.items():
        for part in chunks(keys):
            stmt = _customer_select().where(
                customers.c.source == source, customers.c.customer_id.in_(part)
            )
            rows.extend(conn.execute(stmt))
    return _frame(rows)


def read_members(conn: Connection, golden_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """The customer records linked to ``golden_ids`` (all linked ones if None), with
    ``golden_id`` and the link's stream; records the source deleted are left out."""
    joined = customers.join(
        source_links,
        and_(
            source_links.c.source == customers.c.source,
            source_links.c.source_key == customers.c.customer_id,
        ),
    )
    cols = [customers.c[c] for c in CUSTOMER_COLUMNS]
    base = (
        select(*cols, source_links.c.stream, source_links.c.golden_id)
        .select_from(joined)
        .where(customers.c.deleted_at.is_(None))
    )
    if golden_ids is None:
        return _frame(conn.execute(base), ("golden_id",))
    rows: list[Any] = []
    for part in chunks(list(golden_ids)):
        rows.extend(conn.execute(base.where(source_links.c.golden_id.in_(part))))
    return _frame(rows, ("golden_id",))


def read_links(conn: Connection) -> dict[Record, StoredLink]:
    """Every record's link to its golden customer."""
    stmt = select(
        source_links.c.source,
        source_links.c.source_key,
        source_links.c.golden_id,
        source_links.c.stream,
        source_links.c.linked_at,
        source_links.c.rule,
        source_links.c.record_loaded_at,
    )
    return {(r[0], r[1]): StoredLink(*r[2:]) for r in conn.execute(stmt)}


def read_goldens(conn: Connection) -> dict[str, tuple[datetime, str | None]]:
    """golden id -> (created_at, merged_into) for every golden customer."""
    stmt = select(
        golden_customers.c.golden_id, golden_customers.c.created_at, golden_customers.c.merged_into
    )
    return {r[0]: (r[1], r[2]) for r in conn.execute(stmt)}


def surviving_id(goldens: dict[str, tuple[datetime, str | None]], golden_id: str) -> str:
    """The golden id that ``golden_id`` was (perhaps repeatedly) merged into, or itself."""
    seen = {golden_id}
    while (nxt := goldens.get(golden_id, (None, None))[1]) and nxt not in seen:
        seen.add(nxt)
        golden_id = nxt
    return golden_id


def active_pins(conn: Connection) -> dict[tuple[str, str], Pin]:
    """(golden id, field) -> the pin in force: the newest pin or unpin not undone wins;
    pins of a merged golden customer follow it into the one it was merged into."""
    goldens = read_goldens(conn)
    stmt = (
        select(golden_stewardship)
        .where(
            golden_stewardship.c.action.in_(("pin", "unpin")),
            golden_stewardship.c.undone_at.is_(None),
        )
        .order_by(golden_stewardship.c.id)
    )
    pins: dict[tuple[str, str], Pin | None] = {}
    for row in conn.execute(stmt):
        key = (surviving_id(goldens, row.golden_id), row.args["field"])
        if row.action == "pin":
            pins[key] = Pin(str(row.args["value"]), int(row.id), row.who)
        else:
            pins[key] = None
    return {k: v for k, v in pins.items() if v is not None}


def linked_goldens(conn: Connection, golden_ids: Sequence[str] | None = None) -> set[str]:
    """The golden ids among ``golden_ids`` (all if None) that have linked records."""
    stmt = select(source_links.c.golden_id).distinct()
    if golden_ids is None:
        return {r[0] for r in conn.execute(stmt)}
    found: set[str] = set()
    for part in chunks(list(golden_ids)):
        found |= {r[0] for r in conn.execute(stmt.where(source_links.c.golden_id.in_(part)))}
    return found


def deleted_since(conn: Connection, run_id: int) -> set[str]:
    """Golden ids with a customer record marked deleted by a run after ``run_id``."""
    stmt = (
        select(source_links.c.golden_id)
        .distinct()
        .join(
            customers,
            and_(
                customers.c.source == source_links.c.source,
                customers.c.customer_id == source_links.c.source_key,
            ),
        )
        .where(customers.c.deleted_run_id > run_id)
    )
    return {r[0] for r in conn.execute(stmt)}
