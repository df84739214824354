"""Parameters shared by the routes, with their limits (too long, too big or malformed
values are a 422, never a slow query), and the page's ``next`` link."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Path, Query, Request
from pydantic import JsonValue

from crm_core.api.service.views import Page

P = TypeVar("P", bound=Page[Any])

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
#: free text in a query (a search, a stream name): anything but control characters, which
#: the app refuses before any route (:class:`crm_core.api.app.Guard`)
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
#: what the OpenAPI document says of text in a body: one line (``LINE``), or free text
#: with tabs and line breaks (``FREE_TEXT``); the push-back service and the stewardship
#: functions refuse the rest, on every path (the API answers 422 naming the field)
LINE: dict[str, JsonValue] = {"pattern": TEXT_PATTERN}
FREE_TEXT: dict[str, JsonValue] = {"pattern": r"^[^\x00-\x08\x0b-\x1f\x7f]*$"}
CustomerId = Annotated[
    str,
    Path(
        alias="id",
        description="The customer's golden id (a merged id leads to the customer it was "
        "merged into).",
        pattern=ID_PATTERN,
        max_length=64,
        examples=["G00000001"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=200, description="At most this many items.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
#: the days an ``as_of`` may name: a year's look-back from either end stays a valid date
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
AsOf = Annotated[
    date | None,
    Query(
        description="The day to compute as of (default: today, UTC), from 1900-01-01 "
        "to 2999-12-31.",
        alias="as_of",
        ge=FIRST_DAY,
        le=LAST_DAY,
        json_schema_extra={"pattern": r"^(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}$"},
    ),
]
Name = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
#: a stream's name in a query: free text of at most 200 characters
StreamName = Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)]


def today(as_of: date | None) -> date:
    """``as_of`` or today's date in UTC."""
    return as_of or datetime.now(UTC).date()


def with_next(request: Request, page: P) -> P:
    """``page`` with ``next`` set to the URL (path and query) of the following page."""
    if page.more:
        url = request.url.include_query_params(offset=page.offset + page.limit, limit=page.limit)
        page.next = f"{url.path}?{url.query}"
    return page
