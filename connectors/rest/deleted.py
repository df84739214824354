"""Deleted-since lists of the REST connector: ``GET /orders/deleted?since=...``.

Many APIs keep a log of deleted records and list it by time: Salesforce's sObject Get
Deleted (``/sobjects/Account/deleted/?start=...`` answering ``deletedRecords: [{id,
deletedDate}]``), Zoho CRM's ``/{module}/deleted`` (``data: [{id, deleted_time}]``, paged),
Shopify's ``destroy`` events. A stream's ``deletes: {deleted_since: ...}`` declares such a
list (``schemas.deletes_settings.DeletedSince``); here it becomes a stream of its own for
the connector's reading machinery (session, retries, pagination, typed cursor, order
checks): its cursor is the moment of deletion and its key the deleted record's key, so
its position is (moment, key) and a list read again from a position skips what was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from connectors.rest.options import Incremental, Pagination, StreamOptions
from schemas.deletes_settings import DeletedSince
from schemas.errors import ConfigError
from schemas.settings import StreamConfig
from schemas.source import StreamSpec

_PAGINATION: TypeAdapter[Pagination] = TypeAdapter(Pagination)


@dataclass(frozen=True)
class DeletionList:
    """A stream's list of deleted records, read as a stream of its own."""

    #: the list as a stream: primary key the ``key`` fields, cursor the ``at`` field
    spec: StreamSpec
    options: StreamOptions
    #: the stream's own primary-key names, one per field of ``spec.primary_key``
    primary_key: tuple[str, ...]
    config: DeletedSince

    def first_since(self, now: datetime | None = None) -> tuple[Any, ...] | None:
        """What a first read asks for: the moment ``initial_lookback_days`` ago, or None
        (every deletion the API keeps)."""
        days = self.config.initial_lookback_days
        if days is None:
            return None
        moment = (now or datetime.now(UTC)) - timedelta(days=days)
        return (moment.date() if self.config.at_type == "date" else moment,)


def deletion_lists(
    streams: dict[str, StreamConfig], options: dict[str, StreamOptions]
) -> tuple[dict[str, DeletionList], list[str]]:
    """The deletion lists of the streams that declare one, and the problems found, each
    with its key path."""
    found: dict[str, DeletionList] = {}
    problems: list[str] = []
    for name, stream in streams.items():
        listed = stream.deletes.deleted_since
        if listed is None or name not in options:
            continue
        where = f"streams.{name}.deletes.deleted_since"
        own = options[name]
        pagination = own.pagination
        if listed.pagination is not None:
            try:
                pagination = _PAGINATION.validate_python(listed.pagination)
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    loc = ".".join(str(p) for p in err["loc"])
                    msg = err["msg"].removeprefix("Value error, ")
                    problems.append(f"{where}.pagination{'.' + loc if loc else ''}: {msg}")
                continue
        key = tuple(listed.key or stream.primary_key)
        if listed.at in key:
            problems.append(f"{where}.at: {listed.at!r} is a key field, not a moment")
            continue
        spec = StreamSpec(f"{name} (deleted)", key, (listed.at,))
        opts = StreamOptions(
            path=listed.path,
            records_path=listed.records_path,
            params=listed.params,
            pagination=pagination,
            incremental=Incremental(
                param=listed.since_param,
                format=listed.since_format,
                lookback_seconds=listed.lookback_seconds,
            ),
            cursor_type=listed.at_type,
            cursor_timezone=own.cursor_timezone,
            sorted=listed.sorted,
        )
        found[name] = DeletionList(spec, opts, tuple(stream.primary_key), listed)
    return found, problems


def require_list(source: str, lists: dict[str, DeletionList], stream: str) -> DeletionList:
    """The stream's deletion list, or a ConfigError saying it declares none."""
    if stream not in lists:
        raise ConfigError(
            f"source {source!r} stream {stream!r} declares no deletes.deleted_since list"
        )
    return lists[stream]
