"""The ways an API splits a list into pages: next link (body or Link header), page number,
offset, and cursor token. Each paginator says what to ask for first and, from an answer,
what to ask for next (None at the end).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from connectors.rest.options import (
    CursorToken,
    LinkHeader,
    NextLink,
    NoPages,
    Offset,
    PageNumber,
    Pagination,
)
from schemas.errors import FatalSyncError


@dataclass(frozen=True)
class PageRequest:
    """What to GET: a URL and its query parameters (None: the URL is complete)."""

    url: str
    params: Mapping[str, Any] | None = None

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """A hashable identity, to notice an API that sends the same page again."""
        items = tuple(sorted((k, str(v)) for k, v in (self.params or {}).items()))
        return self.url, items


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path in a JSON body (``meta.next_cursor``); None if absent.
    The empty path is the body itself."""
    value = body
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


@dataclass
class Paginator:
    """Walks the pages of one read."""

    style: Pagination
    origin: str
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=set)
    page: int = 0
    rows: int = 0

    def first(self, url: str, params: Mapping[str, Any]) -> PageRequest:
        """The request for the first page."""
        s = self.style
        query = dict(params)
        if not isinstance(s, NoPages) and s.size_param:  # every other style has a page size
            query[s.size_param] = s.page_size
        if isinstance(s, PageNumber):
            query[s.page_param] = s.first_page
        elif isinstance(s, Offset):
            query[s.offset_param] = 0
        return self._remember(PageRequest(url, query))

    def next(
        self, request: PageRequest, body: Any, response: requests.Response, count: int
    ) -> PageRequest | None:
        """The request for the page after ``request``, or None when it was the last."""
        s = self.style
        self.page += 1
        self.rows += count
        params = dict(request.params or {})
        if isinstance(s, NoPages):
            return None
        if isinstance(s, NextLink | LinkHeader):
            link = (
                dig(body, s.next_path)
                if isinstance(s, NextLink)
                else response.links.get("next", {}).get("url")
            )
            if not link:
                return None
            return self._remember(PageRequest(self._same_origin(urljoin(response.url, link))))
        if isinstance(s, CursorToken):
            token = dig(body, s.cursor_path)
            if token in (None, ""):
                return None
            params[s.cursor_param] = token
            return self._remember(PageRequest(request.url, params))
        if count == 0 or self._total_reached(body, s):
            return None
        if isinstance(s, PageNumber):
            params[s.page_param] = int(params[s.page_param]) + 1
        else:
            params[s.offset_param] = int(params[s.offset_param]) + count
        return self._remember(PageRequest(request.url, params))

    def _total_reached(self, body: Any, s: PageNumber | Offset) -> bool:
        if not s.total_path:
            return False
        total = dig(body, s.total_path)
        try:
            return total is not None and self.rows >= int(total)
        except (TypeError, ValueError):
            raise FatalSyncError(
                f"the total at {s.total_path!r} is not a number: {str(total)[:40]!r}"
            ) from None

    def _same_origin(self, url: str) -> str:
        # a next link is followed with the source's credentials: never to another host
        there, here = urlsplit(url), urlsplit(self.origin)
        if (there.scheme, there.netloc) != (here.scheme, here.netloc):
            raise FatalSyncError(
                f"the next link points to {there.scheme}://{there.hostname}, not to the "
                f"source's {here.scheme}://{here.hostname}; it is not followed"
            )
        return url

    def _remember(self, request: PageRequest) -> PageRequest:
        if request.key in self.seen:
            raise FatalSyncError(
                f"the API sent page {self.page + 1} again as the next page (a paging loop)"
            )
        self.seen.add(request.key)
        return request
