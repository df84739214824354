"""The REST ERP's resources as JSON, and its list queries with three ways to page.

Every list endpoint (``GET /api/v1/<resource>``) takes

- ``updated_since`` (ISO 8601): only rows changed at or after that moment (inclusive);
- ``sort``: ``updated_at`` (default: by last change, then key) or ``id`` (by key);
- paging, one of: ``page`` + ``per_page`` (page numbers, from 1), ``offset`` + ``limit``,
  or ``cursor`` + ``limit`` (an opaque token; the default when neither of the others is given).

and answers ``{"data": [...], "meta": {...}, "links": {"self": ..., "next": ...}}`` with the
next page's URL also in a ``Link: <...>; rel="next"`` header. ``meta.next_cursor`` is the
token for the next page in cursor paging; ``meta.total`` counts the rows in page and offset
paging. Fields without a value are left out of a record, as many APIs do.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Connection, Row, Table, and_, func, or_, select

from sample_erps.rest_erp import stamps
from sample_erps.rest_erp.schema import (
    CREDIT_ACCOUNTS,
    CUSTOMERS,
    INVOICES,
    ORDER_LINES,
    ORDERS,
    PAYMENTS,
    STOCK,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class BadRequest(ValueError):
    """A query parameter the API does not accept (answered with 400)."""


def amount(value: int | None, places: int) -> str | None:
    """An integer in minor units as a decimal string: 123450 with 2 places is ``1234.50``."""
    return None if value is None else str(Decimal(value).scaleb(-places))


def _drop_nulls(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            value = _drop_nulls(value)
        if value is not None and value != {}:
            out[key] = value
    return out


def _customer(r: Row[Any]) -> dict[str, Any]:
    return {
        "id": r.id,
        "type": r.kind,
        "name": r.name,
        "vat_number": r.vat_number,
        "email": r.email,
        "phone": r.phone,
        "address": {
            "line1": r.address_line1,
            "line2": r.address_line2,
            "city": r.city,
            "state": r.state,
            "postal_code": r.postal_code,
            "country": r.country,
        },
        "currency": r.currency,
        "status": r.status,
        "created_at": stamps.shown(r.created_at, r.tz),
        "updated_at": stamps.shown(r.updated_at, r.tz),
    }


def _order(r: Row[Any]) -> dict[str, Any]:
    return {
        "id": r.id,
        "customer_id": r.customer_id,
        "order_date": r.order_date,
        "requested_date": r.requested_date,
        "status": r.status,
        "currency": r.currency,
        "total": amount(r.total_cents, 2),
        "updated_at": stamps.shown(r.updated_at, r.tz),
    }


def _order_line(r: Row[Any]) -> dict[str, Any]:
    return {
        "order_id": r.order_id,
        "line_no": r.line_no,
        "sku": r.sku,
        "name": r.name,
        "quantity": amount(r.quantity_milli, 3),
        "unit_price": amount(r.unit_price_e4, 4),
        "amount": amount(r.amount_cents, 2),
        "status": r.status,
        "updated_at": stamps.shown(r.updated_at, r.tz),
    }


def _stock(r: Row[Any]) -> dict[str, Any]:
    return {
        "sku": r.sku,
        "location": r.location,
        "description": r.description,
        "category": r.category,
        "on_hand": amount(r.on_hand_milli, 3),
        "reserved": amount(r.reserved_milli, 3),
        "incoming": amount(r.incoming_milli, 3),
        "updated_at": stamps.shown(r.updated_at, r.tz),
    }


def _credit(r: Row[Any]) -> dict[str, Any]:
    return {
        "customer_id": r.customer_id,
        "credit_limit": amount(r.credit_limit_cents, 2),
        "balance": amount(r.balance_cents, 2),
        "on_hold": bool(r.on_hold),
        "hold_reason": r.hold_reason,
        "payment_terms": r.payment_terms,
        "risk_rating": r.risk_rating,
        "currency": r.currency,
        "updated_at": stamps.shown(r.updated_at, r.tz),
    }


def _invoice(r: Row[Any]) -> dict[str, Any]:
    return {
        "number": r.number,
        "customer_id": r.customer_id,
        "order_id": r.order_id,
        "issued_on": r.issued_on,
        "due_on": r.due_on,
        "total": amount(r.total_cents, 2),
        "balance_due": amount(r.balance_due_cents, 2),
        "currency": r.currency,
        "state": r.state,
        "updated_at": stamps.shown(r.updated_at, r.tz),
    }


def _payment(r: Row[Any]) -> dict[str, Any]:
    return {
        "id": r.id,
        "customer_id": r.customer_id,
        "invoice_number": r.invoice_number,
        "received_on": r.received_on,
        "amount": amount(r.amount_cents, 2),
        "currency": r.currency,
        "method": r.method,
        "reference": r.reference,
        "updated_at": stamps.shown(r.updated_at, r.tz),
    }


@dataclass(frozen=True)
class Resource:
    """One list endpoint: its table, its key and how a row looks in JSON."""

    name: str
    table: Table
    key: tuple[str, ...]
    render: Callable[[Row[Any]], dict[str, Any]]

    def record(self, row: Row[Any]) -> dict[str, Any]:
        """A row as the API shows it."""
        return _drop_nulls(self.render(row))


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("customers", CUSTOMERS, ("id",), _customer),
        Resource("orders", ORDERS, ("id",), _order),
        Resource("order-lines", ORDER_LINES, ("order_id", "line_no"), _order_line),
        Resource("stock", STOCK, ("sku", "location"), _stock),
        Resource("credit-accounts", CREDIT_ACCOUNTS, ("customer_id",), _credit),
        Resource("invoices", INVOICES, ("number",), _invoice),
        Resource("payments", PAYMENTS, ("id",), _payment),
    )
}


@dataclass
class Page:
    """One page of a list: its records, and the query of the next page (None at the end)."""

    records: list[dict[str, Any]]
    meta: dict[str, Any]
    next_query: dict[str, str] | None


def _after(columns: Sequence[ColumnElement[Any]], values: Sequence[Any]) -> ColumnElement[bool]:
    terms = []
    for i, (col, value) in enumerate(zip(columns, values, strict=True)):
        equal_before = [c == v for c, v in zip(columns[:i], values[:i], strict=True)]
        terms.append(and_(*equal_before, col > value))
    return or_(*terms)


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque page token for keyset paging after ``values``."""
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def decode_cursor(token: str, width: int) -> list[Any]:
    """The values inside a page token; BadRequest for a token this API did not make."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("cursor is not a token this API made") from None
    if not isinstance(values, list) or len(values) != width:
        raise BadRequest("cursor is not a token this API made")
    return values


def _int(query: Mapping[str, str], name: str, default: int, low: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {raw!r}") from None
    if value < low:
        raise BadRequest(f"{name} must be at least {low}")
    return value


def list_page(conn: Connection, resource: Resource, query: Mapping[str, str]) -> Page:
    """One page of a resource for the query parameters of a list request."""
    table = resource.table
    keys = [table.c[k] for k in resource.key]
    sort = query.get("sort", "updated_at")
    if sort == "updated_at":
        order = [table.c.updated_at, *keys]
    elif sort in ("id", *resource.key):
        order = keys
    else:
        raise BadRequest(f"sort must be updated_at or id, not {sort!r}")
    where: list[ColumnElement[bool]] = []
    if query.get("updated_since"):
        try:
            where.append(table.c.updated_at >= stamps.parse_query(query["updated_since"]))
        except ValueError:
            raise BadRequest("updated_since must be an ISO 8601 timestamp") from None
    next_query = dict(query)
    meta: dict[str, Any] = {}
    if "page" in query or "per_page" in query:
        size = min(_int(query, "per_page", DEFAULT_LIMIT, 1), MAX_LIMIT)
        number = _int(query, "page", 1, 1)
        offset = (number - 1) * size
        next_query["page"] = str(number + 1)
        meta.update(page=number, per_page=size)
    elif "offset" in query:
        size = min(_int(query, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
        offset = _int(query, "offset", 0, 0)
        next_query["offset"] = str(offset + size)
        meta.update(offset=offset, limit=size)
    else:
        size, offset = min(_int(query, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT), None
        if query.get("cursor"):
            where.append(_after(order, decode_cursor(query["cursor"], len(order))))
    stmt = select(table).where(*where).order_by(*order)
    if offset is None:
        rows = conn.execute(stmt.limit(size + 1)).all()
        more = len(rows) > size
        rows = rows[:size]
        token = encode_cursor([getattr(rows[-1], c.name) for c in order]) if more else None
        meta["next_cursor"] = token
        next_query["cursor"] = token or ""
    else:
        total = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
        rows = conn.execute(stmt.limit(size).offset(offset)).all()
        more = offset + len(rows) < total
        meta["total"] = total
    meta["count"] = len(rows)
    return Page([resource.record(r) for r in rows], meta, next_query if more else None)


def next_url(base: str, path: str, next_query: Mapping[str, str] | None) -> str | None:
    """The absolute URL of the next page, or None."""
    return None if next_query is None else f"{base}{path}?{urlencode(next_query)}"
