"""Writes to the sample REST ERP: one record by id, and customers changed or created.

- ``GET /api/v1/<resource>/<id>`` answers one record in the shape of the list items, with an
  ``ETag`` made from the record's change stamp (``updated_at``);
- ``PATCH /api/v1/customers/<id>`` changes some fields, in the API's own shape
  (``{"phone": "...", "address": {"city": "..."}}``), and stamps the record with a new
  ``updated_at``, so the next incremental read (``updated_since``) sees the change; an
  ``If-Match`` that is not the record's ETag is refused with 412;
- ``POST /api/v1/customers`` creates a customer whose ``id`` the client gives (201); the same
  customer again is answered 200, one with other values 409.

Both writes need an ``Idempotency-Key`` (428 without one), as Stripe's API and the IETF
draft ``httpapi-idempotency-key-header`` describe: the first request with a key stores
its answer in ``idempotency_keys``, in the transaction of its change; the same key with the
same request (method, path, JSON body) gets the stored answer back with
``Idempotent-Replayed: true`` and changes nothing; the same key with another request is
refused with 422. Refusals (4xx) are not stored: they change nothing, so sending the
request again, with a new ``If-Match`` say, is safe. Keys are kept for ever (a sample).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, func, insert, select, update

from sample_erps.rest_erp import stamps
from sample_erps.rest_erp.api import Resource
from sample_erps.rest_erp.schema import CUSTOMERS, IDEMPOTENCY_KEYS

#: The customer fields a client may write (dotted: nested in ``address``) and their columns.
CUSTOMER_FIELDS: dict[str, str] = {
    "type": "kind",
    "name": "name",
    "vat_number": "vat_number",
    "email": "email",
    "phone": "phone",
    "address.line1": "address_line1",
    "address.line2": "address_line2",
    "address.city": "city",
    "address.state": "state",
    "address.postal_code": "postal_code",
    "address.country": "country",
    "currency": "currency",
    "status": "status",
}
#: Fields the ERP sets itself.
READ_ONLY = frozenset({"created_at", "updated_at"})
CHOICES: dict[str, frozenset[str]] = {
    "type": frozenset({"company", "individual"}),
    "status": frozenset({"active", "archived"}),
}
REQUIRED_ON_CREATE = ("id", "type", "name", "currency")
MAX_KEY_LENGTH = 255


class Refused(Exception):
    """A write the API refuses: an error answer, with the field it is about if any."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field = field
        self.headers = headers or {}


@dataclass
class Answer:
    """A write's answer: status, JSON body, headers; ``replayed`` when it was stored."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


def etag(stamp: str) -> str:
    """A record's ETag: its stored change stamp's digits, quoted (a strong validator)."""
    return '"' + "".join(ch for ch in stamp if ch.isdigit()) + '"'


def if_match_ok(header: str | None, current: str) -> bool:
    """Whether an ``If-Match`` header (absent, ``*`` or a list of ETags) holds."""
    if header is None:
        return True
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or current in tags


def one(conn: Connection, resource: Resource, ident: str) -> tuple[dict[str, Any], str] | None:
    """One record of a resource with a one-field key, and its ETag; None if there is none."""
    table = resource.table
    row = conn.execute(select(table).where(table.c[resource.key[0]] == ident)).first()
    return None if row is None else (resource.record(row), etag(row.updated_at))


def next_stamp(conn: Connection) -> str:
    """The change stamp of a write: now, and later than every customer's stamp (so that
    an incremental read from any position the API has handed out sees it)."""
    latest = conn.execute(select(func.max(CUSTOMERS.c.updated_at))).scalar()
    moment = datetime.now(UTC)
    if latest:
        moment = max(moment, stamps.parse_stored(latest) + timedelta(microseconds=1))
    return stamps.stored(moment)


def _flat(body: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name == "address":
            if not isinstance(value, dict):
                raise Refused(422, "invalid_field", "address must be an object", "address")
            out.update({f"address.{k}": v for k, v in value.items()})
        else:
            out[name] = value
    return out


def columns_of(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """A write's body as column values; Refused (422) naming the first bad field."""
    values: dict[str, Any] = {}
    for name, value in _flat(body).items():
        if name == "id" and creating:
            column = "id"
        elif name in READ_ONLY or name == "id":
            raise Refused(422, "read_only_field", f"field {name!r} is set by the ERP", name)
        elif name not in CUSTOMER_FIELDS:
            raise Refused(422, "unknown_field", f"unknown field {name!r}", name)
        else:
            column = CUSTOMER_FIELDS[name]
        values[column] = _checked(name, column, value)
    if not values:
        raise Refused(422, "empty_change", "the body changes no field")
    return values


def _checked(name: str, column: str, value: Any) -> Any:
    col = CUSTOMERS.c[column]
    if value is None:
        if not col.nullable or col.primary_key:
            raise Refused(422, "invalid_field", f"field {name!r} cannot be null", name)
        return None
    if not isinstance(value, str):
        kind = type(value).__name__
        raise Refused(422, "invalid_field", f"field {name!r} must be a string, not {kind}", name)
    if not col.nullable and not value.strip():
        raise Refused(422, "invalid_field", f"field {name!r} cannot be empty", name)
    if name in CHOICES and value not in CHOICES[name]:
        known = ", ".join(sorted(CHOICES[name]))
        raise Refused(422, "invalid_field", f"field {name!r} must be one of {known}", name)
    length = col.type.length if isinstance(col.type, String) else None
    if length is not None and len(value) > length:
        raise Refused(422, "invalid_field", f"field {name!r} is longer than {length}", name)
    return value


def patch_customer(
    conn: Connection, resource: Resource, ident: str, body: Mapping[str, Any], if_match: str | None
) -> Answer:
    """Change some fields of a customer and stamp it; 404, 412 or 422 as Refused."""
    values = columns_of(body, creating=False)
    row = conn.execute(select(CUSTOMERS).where(CUSTOMERS.c.id == ident)).first()
    if row is None:
        raise Refused(404, "not_found", f"no customer {ident!r}")
    current = etag(row.updated_at)
    if not if_match_ok(if_match, current):
        raise Refused(
            412,
            "precondition_failed",
            f"customer {ident!r} has changed: its ETag is {current}, not {if_match}",
            headers={"ETag": current},
        )
    values["updated_at"] = next_stamp(conn)
    conn.execute(update(CUSTOMERS).where(CUSTOMERS.c.id == ident).values(**values))
    record, tag = one(conn, resource, ident) or ({}, "")
    return Answer(200, record, {"ETag": tag})


def create_customer(conn: Connection, resource: Resource, body: Mapping[str, Any]) -> Answer:
    """Create a customer with the client's id (201); the same one again is 200, one with
    other values 409; 422 for missing or bad fields."""
    values = columns_of(body, creating=True)
    flat = _flat(body)
    for name in REQUIRED_ON_CREATE:
        if flat.get(name) is None:
            raise Refused(422, "missing_field", f"field {name!r} is required", name)
    ident = values["id"]
    row = conn.execute(select(CUSTOMERS).where(CUSTOMERS.c.id == ident)).first()
    location = {"Location": f"/api/v1/{resource.name}/{ident}"}
    if row is not None:
        other = [n for n in flat if n != "id" and getattr(row, CUSTOMER_FIELDS[n]) != flat[n]]
        if other:
            raise Refused(
                409,
                "conflict",
                f"customer {ident!r} exists with other values for {', '.join(other)}",
                other[0],
            )
        return Answer(200, resource.record(row), {"ETag": etag(row.updated_at), **location})
    stamp = next_stamp(conn)
    conn.execute(
        insert(CUSTOMERS).values(
            {
                "status": "active",
                **values,
                "created_at": stamp,
                "updated_at": stamp,
                "tz": stamps.zone_for(values.get("country")),
            }
        )
    )
    record, tag = one(conn, resource, ident) or ({}, "")
    return Answer(201, record, {"ETag": tag, **location})


def fingerprint(method: str, path: str, body: Any) -> str:
    """What makes two requests the same request: method, path and JSON body (key order
    and spacing aside)."""
    text = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def idempotent(
    conn: Connection, key: str, method: str, path: str, body: Any, run: Callable[[], Answer]
) -> Answer:
    """The stored answer for ``key`` if the same request came before (422 if another
    did), else ``run``'s answer, stored under ``key`` in the same transaction."""
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Refused(400, "bad_idempotency_key", "Idempotency-Key must be 1-255 printable chars")
    mark = fingerprint(method, path, body)
    row = conn.execute(select(IDEMPOTENCY_KEYS).where(IDEMPOTENCY_KEYS.c.key == key)).first()
    if row is not None:
        if row.fingerprint != mark:
            raise Refused(
                422,
                "idempotency_key_reused",
                f"this Idempotency-Key was used for another request ({row.method} {row.path})",
            )
        return Answer(row.status, json.loads(row.body), json.loads(row.headers), replayed=True)
    answer = run()
    conn.execute(
        insert(IDEMPOTENCY_KEYS).values(
            key=key,
            method=method,
            path=path,
            fingerprint=mark,
            status=answer.status,
            body=json.dumps(answer.body, ensure_ascii=False),
            headers=json.dumps(answer.headers),
            created_at=stamps.stored(datetime.now(UTC)),
        )
    )
    return answer
