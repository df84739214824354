"""The REST ERP's log of deleted records, and its list: ``GET /api/v1/<resource>/deleted``.

A record deleted (:func:`delete_records`) leaves its table and gains a line in the log,
with its key and the moment. The list answers, as Zoho CRM's ``/{module}/deleted`` and
Salesforce's sObject Get Deleted do, ``{"data": [{"id": "O7", "deleted_at": "..."}],
"meta": {"next_cursor": ...}, "links": {...}}`` in (``deleted_at``, key) order, taking
``since`` (ISO 8601, inclusive), ``limit`` and ``cursor`` (keyset paging). Resources with a
one-field key have the list; the key's field keeps its name (``id``, ``number``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select

from sample_erps.rest_erp import stamps
from sample_erps.rest_erp.api import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadRequest,
    Page,
    Resource,
    decode_cursor,
    encode_cursor,
)
from sample_erps.rest_erp.schema import DELETED_RECORDS

#: The word after a resource's name that asks for its deleted records.
DELETED = "deleted"


def delete_records(
    engine: Engine, resource: Resource, ids: Iterable[str], at: datetime | None = None
) -> list[str]:
    """Delete records of a resource (one-field key) and log them as deleted ``at`` (now by
    default); return the ids that were there."""
    key = resource.table.c[_key_of(resource)]
    moment = stamps.stored(at or datetime.now(UTC))
    with engine.begin() as conn:
        there = list(conn.execute(select(key).where(key.in_(list(ids)))).scalars())
        conn.execute(delete(resource.table).where(key.in_(there)))
        if there:
            conn.execute(
                insert(DELETED_RECORDS),
                [{"resource": resource.name, "record_id": i, "deleted_at": moment} for i in there],
            )
    return there


def _key_of(resource: Resource) -> str:
    if len(resource.key) != 1:
        raise BadRequest(f"{resource.name!r} has no list of deleted records (a compound key)")
    return resource.key[0]


def deleted_page(conn: Connection, resource: Resource, query: Mapping[str, str]) -> Page:
    """One page of the resource's deleted records for a list request's query."""
    field = _key_of(resource)
    log = DELETED_RECORDS
    order = [log.c.deleted_at, log.c.record_id]
    where = [log.c.resource == resource.name]
    if query.get("since"):
        try:
            where.append(log.c.deleted_at >= stamps.parse_query(query["since"]))
        except ValueError:
            raise BadRequest("since must be an ISO 8601 timestamp") from None
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or int(raw_limit) < 1:
        raise BadRequest(f"limit must be a whole number from 1, not {raw_limit!r}")
    size = min(int(raw_limit), MAX_LIMIT)
    if query.get("cursor"):
        at, record = decode_cursor(query["cursor"], 2)
        where.append(
            or_(log.c.deleted_at > at, and_(log.c.deleted_at == at, log.c.record_id > record))
        )
    rows = conn.execute(select(log).where(*where).order_by(*order).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    token = encode_cursor([rows[-1].deleted_at, rows[-1].record_id]) if more else None
    records = [{field: r.record_id, "deleted_at": stamps.shown(r.deleted_at, "UTC")} for r in rows]
    next_query = {**query, "cursor": token} if token else None
    return Page(records, {"next_cursor": token, "count": len(records)}, next_query)
