"""The customer search index: per golden customer, the text a search may match.

``name_terms`` holds every name of the customer (the golden one and each source
record's) folded (NFKC, case, accents, traditional -> simplified Chinese, no spaces), and
for Chinese names their pinyin (``shanghailianchuang...``) and pinyin initials
(``shlc...``). ``key_terms`` holds e-mails, tax ids, source keys (``c010214`` and
``legacy_erp:c010214``), phone numbers as written, in E.164 and as dialled at home
(``02125575825``), and the serial numbers of the customer's assets (``mtr26010013503``).
Terms are lines, so a search word never matches across two of them.

Pinyin is too slow to compute per search, so it is computed once per customer and again
only when the golden record or its links change (:func:`refresh`, which the API runs at
start and then in the background).

Finding what changed means comparing every customer with its index entry, a few seconds
at a million customers; so a round looks at every customer only at the first refresh of
a store and then every :data:`FULL_CHECK_SECONDS`. Between those, a round looks only at
golden records and links changed since the previous round began, less :data:`MARGIN`
for transactions that were still open then (indexed columns: a few milliseconds).
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, or_, select, union

from crm_core.identity.chinese import pinyin_syllables, to_simplified
from crm_core.identity.phones import normalise_phone
from crm_core.identity.text import fold, has_han, nfkc
from crm_core.store.tables import RECORD_TABLES, customer_search, golden_customers, source_links

CHUNK = 500
#: Seconds between two rounds that compare every customer with its index entry.
FULL_CHECK_SECONDS = 600.0
#: How far before the previous round's start a partial round looks for changes.
MARGIN = timedelta(minutes=10)
customers = RECORD_TABLES["customers"]
assets = RECORD_TABLES["assets"]
_NOT_KEY = re.compile(r"\s+")
_DIGITS = re.compile(r"\D")


def name_form(text: str) -> str:
    """How names are compared: folded, simplified Chinese, without spaces."""
    return fold(to_simplified(text)).replace(" ", "")


def key_form(text: str) -> str:
    """How e-mails, tax ids and source keys are compared: NFKC, case folded, no spaces."""
    return _NOT_KEY.sub("", nfkc(text).casefold())


def name_terms(names: Iterable[str | None]) -> list[str]:
    """The name terms of a customer known by ``names``."""
    out: dict[str, None] = {}
    for name in names:
        if not name:
            continue
        folded = fold(to_simplified(name))
        if not folded:
            continue
        out[folded.replace(" ", "")] = None
        if has_han(folded):
            syllables = pinyin_syllables(folded)
            out["".join(syllables)] = None
            out["".join(s[0] for s in syllables if s)] = None
    return list(out)


def phone_terms(phone: str | None, country: str | None) -> list[str]:
    """A phone number as written (digits), in E.164, and in national form (digits)."""
    if not phone:
        return []
    out = [_DIGITS.sub("", nfkc(phone))]
    e164 = normalise_phone(phone, country)
    if e164 and e164.startswith("+"):
        import phonenumbers

        out.append(e164)
        out.append(e164[1:])
        try:
            number = phonenumbers.parse(e164, None)
            national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            out.append(_DIGITS.sub("", national))
        except phonenumbers.NumberParseException:
            pass
    return [t for t in dict.fromkeys(out) if t]


def key_terms(records: Iterable[dict[str, Any]]) -> list[str]:
    """The key terms of a customer from its golden and source records (dicts with
    ``email``, ``tax_id``, ``phone``, ``country``, and ``source``/``customer_id`` for a
    source record)."""
    out: dict[str, None] = {}
    for record in records:
        for field in ("email", "tax_id"):
            if record.get(field):
                out[key_form(record[field])] = None
        if record.get("tax_id"):
            out[key_form(record["tax_id"]).replace("-", "")] = None
        for term in phone_terms(record.get("phone"), record.get("country")):
            out[term] = None
        if record.get("customer_id"):
            key = key_form(record["customer_id"])
            out[key] = None
            out[f"{key_form(record['source'])}:{key}"] = None
    return [t for t in out if t]


def stale_ids(conn: Connection, since: datetime | None = None) -> list[str]:
    """Golden customers (not merged) never indexed, or changed since they were: the
    record itself, or a link to one of their source records. With ``since``, only those
    whose record or link changed after it."""
    g, s, link = golden_customers, customer_search, source_links
    changed = (
        select(g.c.golden_id)
        .outerjoin(s, s.c.golden_id == g.c.golden_id)
        .where(g.c.merged_into.is_(None), or_(s.c.golden_id.is_(None), g.c.updated_at > s.c.mark))
    )
    relinked = (
        select(link.c.golden_id)
        .join(s, s.c.golden_id == link.c.golden_id)
        .where(or_(link.c.linked_at > s.c.mark, link.c.record_loaded_at > s.c.mark))
    )
    shipped = (
        select(link.c.golden_id)
        .select_from(assets)
        .join(
            link, and_(link.c.source == assets.c.source, link.c.source_key == assets.c.customer_id)
        )
        .join(s, s.c.golden_id == link.c.golden_id)
        .where(assets.c.loaded_at > s.c.mark)
    )
    if since is not None:
        changed = changed.where(g.c.updated_at > since)
        relinked = relinked.where(or_(link.c.linked_at > since, link.c.record_loaded_at > since))
        shipped = shipped.where(assets.c.loaded_at > since)
    return sorted({r[0] for r in conn.execute(union(changed, relinked, shipped))})


@dataclass(frozen=True)
class _Round:
    """When a store's last successful refresh began, and its last full check (monotonic)."""

    began: datetime
    full_checked: float


_rounds: weakref.WeakKeyDictionary[Engine, _Round] = weakref.WeakKeyDictionary()


def _joined(terms: list[str]) -> str:
    return "\n".join(terms)


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _entries(conn: Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    goldens = {
        r.golden_id: dict(r._mapping)
        for r in conn.execute(
            select(golden_customers).where(
                golden_customers.c.golden_id.in_(ids), golden_customers.c.merged_into.is_(None)
            )
        )
    }
    members: dict[str, list[dict[str, Any]]] = {gid: [] for gid in goldens}
    marks: dict[str, datetime] = {gid: row["updated_at"] for gid, row in goldens.items()}
    stmt = (
        select(
            source_links.c.golden_id,
            source_links.c.linked_at,
            source_links.c.record_loaded_at,
            customers.c.source,
            customers.c.customer_id,
            customers.c.name,
            customers.c.email,
            customers.c.tax_id,
            customers.c.phone,
            customers.c.country,
        )
        .join(
            customers,
            and_(
                customers.c.source == source_links.c.source,
                customers.c.customer_id == source_links.c.source_key,
            ),
        )
        .where(source_links.c.golden_id.in_(list(goldens)))
    )
    for row in conn.execute(stmt):
        data = dict(row._mapping)
        members[row.golden_id].append(data)
        for when in (row.linked_at, row.record_loaded_at):
            if when and when > marks[row.golden_id]:
                marks[row.golden_id] = when
    serials = _serials(conn, list(goldens), marks)
    return [
        {
            "golden_id": gid,
            "name_terms": _joined(name_terms([golden["name"], *(m["name"] for m in members[gid])])),
            "key_terms": _joined(
                key_terms([golden, *members[gid]]) + [key_form(x) for x in serials[gid]]
            ),
            "mark": marks[gid],
        }
        for gid, golden in goldens.items()
    ]


def _serials(conn: Connection, ids: list[str], marks: dict[str, datetime]) -> dict[str, list[str]]:
    """The serial numbers of the assets of each golden customer (``marks`` moved on to the
    newest load of them)."""
    out: dict[str, list[str]] = {gid: [] for gid in ids}
    stmt = (
        select(source_links.c.golden_id, assets.c.serial_number, assets.c.loaded_at)
        .join(
            source_links,
            and_(
                source_links.c.source == assets.c.source,
                source_links.c.source_key == assets.c.customer_id,
            ),
        )
        .where(source_links.c.golden_id.in_(ids), assets.c.serial_number.is_not(None))
        .order_by(source_links.c.golden_id, assets.c.serial_number)
    )
    for golden_id, serial, loaded_at in conn.execute(stmt):
        out[golden_id].append(serial)
        if loaded_at and loaded_at > marks[golden_id]:
            marks[golden_id] = loaded_at
    return out


def refresh(store: Engine, *, full: bool = False) -> int:
    """Index the golden customers that are new or changed (all of them with ``full``);
    return how many were indexed. See the module's doc for which rounds compare every
    customer with its entry."""
    began = datetime.now(UTC)
    last = _rounds.get(store)
    full_checked = time.monotonic()
    with store.connect() as conn:
        if full:
            ids = sorted(
                r[0]
                for r in conn.execute(
                    select(golden_customers.c.golden_id).where(
                        golden_customers.c.merged_into.is_(None)
                    )
                )
            )
        elif last is None or full_checked - last.full_checked >= FULL_CHECK_SECONDS:
            ids = stale_ids(conn)
        else:
            ids = stale_ids(conn, since=last.began - MARGIN)
            full_checked = last.full_checked
    done = 0
    for part in _chunks(ids):
        with store.begin() as conn:
            entries = _entries(conn, part)
            conn.execute(delete(customer_search).where(customer_search.c.golden_id.in_(part)))
            if entries:
                conn.execute(customer_search.insert(), entries)
            done += len(entries)
    _rounds[store] = _Round(began, full_checked)
    return done
