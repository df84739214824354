"""Push-back writes to a REST API: read the record, let the hub decide, then PATCH or POST.

One change to one record (:class:`schemas.source.WriteRequest`) goes like this:

1. ``GET`` the record at the stream's ``write_path`` (by default ``path/<key>``); 404 means
   there is none. Its JSON is flattened as reads flatten it (``address.city``), and
   ``decide`` sees only the request's value columns (None for no record);
2. on ``write``: ``PATCH`` the record with the values as nested JSON, or ``POST`` it to the
   stream's ``path`` (key and values) when the request creates a record that is not there.
   Every attempt carries the request's ``Idempotency-Key``, and a PATCH the record's ETag
   as ``If-Match``;
3. a 412 (the record changed between the read and the write) or a 409 on a create (the
   record appeared meanwhile) goes back to step 1, at most :data:`DECIDE_ATTEMPTS` times.

Connection errors, timeouts, 5xx and 429 are retried by the client's two layers (urllib3's
``Retry``, and tenacity for answers that break off); the ``Idempotency-Key`` makes that safe
for a change the server applied before the failure. What is still failing after the retries
is a :class:`RetriableError`; a change the API refuses (4xx) is a :class:`WriteRejected`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from connectors.rest import frames
from connectors.rest.client import HttpClient, server_message
from connectors.rest.options import StreamOptions
from schemas.errors import ConfigError, FatalSyncError, HubError, InvalidRecord, RetriableError
from schemas.source import Decide, StreamSpec, WriteOutcome, WriteRequest

log = logging.getLogger(__name__)

#: How often a write reads the record and decides again after the record changed under it.
DECIDE_ATTEMPTS = 3
#: Client errors the writer reads itself (others: credentials, rate limits, timeouts).
HANDLED = frozenset(range(400, 500)) - {401, 403, 408, 429}
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class WriteRejected(InvalidRecord):
    """The API refused one change (a 4xx answer): sending it again will not help.

    The message names the source, the request, the stream, the record's key, the status
    and the server's message; ``status``, ``key`` and ``field`` (when the server names the
    field) are kept as attributes.
    """

    def __init__(self, message: str, *, status: int, key: str, field: str | None) -> None:
        HubError.__init__(self, message)
        self.reason, self.status, self.key, self.field = message, status, key, field


def item_path(spec: StreamSpec, opts: StreamOptions, key: Mapping[str, Any]) -> str:
    """The path of one record: ``write_path`` with the key's values, or ``path/<key>``."""
    if opts.write_path is not None:
        return PLACEHOLDER.sub(lambda m: quote(str(key[m.group(1)]), safe=""), opts.write_path)
    if len(spec.primary_key) > 1:
        fields = "/".join("{" + k + "}" for k in spec.primary_key)
        raise ConfigError(
            f"stream {spec.name!r}: its key has several fields, so writing to it needs "
            f"options.write_path (e.g. {opts.path.rstrip('/')}/{fields})"
        )
    return f"{opts.path.rstrip('/')}/{quote(str(key[spec.primary_key[0]]), safe='')}"


def write_path_problem(spec: StreamSpec, opts: StreamOptions) -> str | None:
    """What is wrong with a stream's ``write_path``, if anything."""
    if opts.write_path is None:
        return None
    named = PLACEHOLDER.findall(opts.write_path)
    unknown = [n for n in named if n not in spec.primary_key]
    missing = ["{" + k + "}" for k in spec.primary_key if k not in named]
    if not unknown and not missing:
        return None
    parts = [f"{', '.join(unknown)} is not a key field"] if unknown else []
    parts += [f"it lacks {', '.join(missing)}"] if missing else []
    return f"streams.{spec.name}.options.write_path: {'; '.join(parts)}"


def unflatten(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted columns as nested JSON objects: ``{"address.city": "X"}`` becomes
    ``{"address": {"city": "X"}}``; ValueError when a name is both a value and an object."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        *parents, leaf = name.split(".")
        node = out
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"{name!r} is inside {part!r}, which has a value of its own")
            node = child
        if isinstance(node.get(leaf), dict):
            raise ValueError(f"{name!r} has a value and fields of its own")
        node[leaf] = value
    return out


class Writer:
    """Writes the changes of one stream of one REST source."""

    def __init__(
        self, source: str, client: HttpClient, spec: StreamSpec, opts: StreamOptions
    ) -> None:
        self.source, self.client, self.spec, self.opts = source, client, spec, opts

    def write(self, request: WriteRequest, decide: Decide) -> WriteOutcome:
        """Apply one change if ``decide`` says so; see the module for how."""
        key = self._key(request)
        ident = ", ".join(f"{k}={v!r}" for k, v in key.items())
        what = f"stream {self.spec.name!r} key {ident}"
        try:
            item_url = self.client.url(item_path(self.spec, self.opts, key))
        except ConfigError as exc:
            raise ConfigError(f"source {self.source!r} {exc}") from None
        try:
            body = unflatten({**key, **request.values} if request.create else request.values)
            patch = unflatten(request.values)
        except ValueError as exc:
            raise FatalSyncError(f"source {self.source!r} {what}: {exc}") from None
        for attempt in range(1, DECIDE_ATTEMPTS + 1):
            current, tag = self._read(item_url, what)
            view = None if current is None else {c: current.get(c) for c in request.read_columns}
            decision = decide(view)
            if decision != "write":
                return WriteOutcome(decision, view)
            headers = {"Idempotency-Key": request.idempotency_key}
            if request.create and current is None:
                method, url, sent = "POST", self.client.url(self.opts.path), body
            else:
                method, url, sent = "PATCH", item_url, patch
                if tag:
                    headers["If-Match"] = tag
            answer, response = self.client.request_json(
                method, url, what, body=sent, headers=headers, expect=HANDLED
            )
            status = response.status_code
            if status < 400:
                return WriteOutcome("write", view)
            if status == 412 or (status == 409 and method == "POST"):
                log.info(
                    "source %r %s: %s %s (attempt %d): the record changed; reading it again",
                    self.source,
                    what,
                    status,
                    response.reason,
                    attempt,
                )
                continue
            raise self._refused(method, url, what, ident, status, response.reason, answer)
        raise RetriableError(
            f"source {self.source!r}: {what}: the record changed between reading and "
            f"writing it {DECIDE_ATTEMPTS} times in a row"
        )

    def _key(self, request: WriteRequest) -> dict[str, Any]:
        missing = [k for k in self.spec.primary_key if request.key.get(k) is None]
        if missing:
            raise ConfigError(
                f"source {self.source!r} stream {self.spec.name!r}: the change's key lacks "
                f"{', '.join(missing)} (the stream's primary key)"
            )
        return {k: request.key[k] for k in self.spec.primary_key}

    def _read(self, url: str, what: str) -> tuple[dict[str, Any] | None, str | None]:
        """The record's flattened fields and ETag; (None, None) when it is not there."""
        data, response = self.client.request_json("GET", url, what, expect={404})
        if response.status_code == 404:
            return None, None
        if not isinstance(data, dict):
            raise FatalSyncError(
                f"source {self.source!r}: GET {self.client.where(url)} ({what}): expected "
                f"one record (a JSON object), found {type(data).__name__}"
            )
        return frames.flatten(data), response.headers.get("ETag")

    def _refused(
        self,
        method: str,
        url: str,
        what: str,
        ident: str,
        status: int,
        reason: str,
        answer: Any,
    ) -> HubError:
        where = self.client.where(url)
        head = f"source {self.source!r}: {method} {where} ({what}): {status} {reason}"
        message = server_message(answer)
        text = f"{head}: {message}" if message else head
        if status == 405 or (status == 404 and method == "POST"):
            return ConfigError(f"{text} (check the stream's options.path and write_path)")
        error = answer.get("error") if isinstance(answer, dict) else None
        field = error.get("field") if isinstance(error, dict) else None
        return WriteRejected(text, status=status, key=ident, field=str(field) if field else None)
