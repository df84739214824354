"""The phone index: which golden customers a phone number leads to.

Each golden customer is found by its own phone and those of its source records, each
under its E.164 form and its national significant number
(:func:`crm_core.identity.phones.lookup_keys`), in ``golden_phones``: a B-tree lookup,
whatever the number of customers. It is written where golden records are
(:func:`crm_core.golden.records.rebuild`); a store migrated to it gets it filled by the
next reconcile (:func:`fill_if_empty`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from sqlalchemy import Connection, select

from crm_core.golden.store_io import chunks, read_members
from crm_core.identity.phones import lookup_keys
from crm_core.store.tables import golden_customers, golden_phones

#: (golden id, phone as written, the record's country)
Entry = tuple[str, str | None, str | None]


@lru_cache(maxsize=65536)
def _keys(phone: str, region: str, country: str | None) -> tuple[str, ...]:
    return lookup_keys(phone, region, country)


def index_rows(entries: Iterable[Entry], region: str) -> list[dict[str, str]]:
    """The index rows of ``entries``, each (key, golden id) once; numbers without a
    country code are read in the record's country, else in ``region``."""
    seen: set[tuple[str, str]] = set()
    for golden_id, phone, country in entries:
        if not phone:
            continue
        for key in _keys(phone, region, country):
            seen.add((key, golden_id))
    return [{"phone_key": k, "golden_id": g} for k, g in sorted(seen)]


def replace(
    conn: Connection, golden_ids: Sequence[str] | None, entries: Iterable[Entry], region: str
) -> int:
    """Make the index rows of ``golden_ids`` (None: every one) those of ``entries``;
    returns how many rows were written."""
    if golden_ids is None:
        conn.execute(golden_phones.delete())
    else:
        for part in chunks(list(golden_ids)):
            conn.execute(golden_phones.delete().where(golden_phones.c.golden_id.in_(part)))
    rows = index_rows(entries, region)
    for start in range(0, len(rows), 5000):
        conn.execute(golden_phones.insert(), rows[start : start + 5000])
    return len(rows)


def index_all(conn: Connection, region: str) -> int:
    """Index every golden customer that stands on its own, from the store."""
    goldens = conn.execute(
        select(
            golden_customers.c.golden_id, golden_customers.c.phone, golden_customers.c.country
        ).where(golden_customers.c.merged_into.is_(None))
    ).all()
    members = read_members(conn).select("golden_id", "phone", "country")
    entries: list[Entry] = [(g, p, c) for g, p, c in goldens]
    entries += list(members.iter_rows())
    return replace(conn, None, entries, region)


def fill_if_empty(conn: Connection, region: str) -> int:
    """Index every golden customer when the index is empty (a store just migrated to
    it); returns how many rows were written."""
    if conn.execute(select(golden_phones.c.phone_key).limit(1)).first() is not None:
        return 0
    return index_all(conn, region)
