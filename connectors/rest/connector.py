"""The REST connector: streams of a JSON API declared in YAML, read page by page.

A read asks for the changes since the saved position (``updated_since``-style, inclusive),
walks the pages, turns each into a typed frame, drops rows at or before the position (ties
on the cursor are told apart by the key), checks the order, and hands on batches of
``batch_size`` rows. The engine saves the position of each batch once it is loaded, so a
read that fails on page n leaves exactly the rows before the failure loaded and the
position at the last of them: the next run goes on from there.

``write`` changes or creates one record (push-back); see :mod:`connectors.rest.writer`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from connectors.base import BaseConnector, frame_types
from connectors.rest import frames
from connectors.rest.client import HttpClient
from connectors.rest.deleted import DeletionList, deletion_lists, require_list
from connectors.rest.options import StreamOptions, parse_options
from connectors.rest.pagination import PageRequest, Paginator, dig
from connectors.rest.writer import Writer, write_path_problem
from schemas.errors import ConfigError, FatalSyncError, HubError
from schemas.settings import SourceConfig
from schemas.source import (
    Decide,
    DeletedBatch,
    Position,
    StreamSpec,
    Write,
    WriteOutcome,
    WriteRequest,
)


class RestConnector(BaseConnector):
    """Reads the declared streams of a REST API, incrementally, and writes changes back."""

    kind = "rest"

    def __init__(self, name: str, config: SourceConfig, base_dir: Path | None = None) -> None:
        super().__init__(name, config, base_dir)
        raw_streams = {n: dict(s.options) for n, s in config.streams.items() if s.enabled}
        self.options, self.stream_options = parse_options(name, config.options, raw_streams)
        for spec in self.streams():
            if spec.incremental and len(spec.cursor) != 1:
                raise ConfigError(
                    f"source {name!r} stream {spec.name!r}: a REST stream has one cursor "
                    f"field, not {len(spec.cursor)}"
                )
        problems = [write_path_problem(s, self.stream_options[s.name]) for s in self.streams()]
        enabled = {n: s for n, s in config.streams.items() if s.enabled}
        self.deletion_lists, listed = deletion_lists(enabled, self.stream_options)
        problems += listed
        if any(problems):
            raise ConfigError(f"source {name!r}:", [p for p in problems if p])
        self._client: HttpClient | None = None

    @property
    def url(self) -> str:
        """The API's base URL (from the environment when ``url_env`` is used)."""
        if not self.config.url and not self.config.url_env:
            raise ConfigError(f"source {self.name!r}: give url (the API's base URL) or url_env")
        return self.config.resolve_url(self.base_dir, f"source {self.name!r}")

    @property
    def client(self) -> HttpClient:
        """The source's HTTP client, created on first use."""
        if self._client is None:
            self._client = HttpClient(
                self.name, self.url, self.options, self.config.max_connections
            )
        return self._client

    def close(self) -> None:
        """Close the pooled connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- reading ----------------------------------------------------------------------
    def read(self, stream: str, since: Position | None, batch_size: int) -> Iterator[pl.DataFrame]:
        """Yield batches of at most ``batch_size`` rows after ``since``, in position order."""
        spec = self.stream(stream)
        opts = self.stream_options[stream]
        since = tuple(since) if since is not None and spec.incremental else None
        if since is not None and len(since) != len(spec.order_by):
            raise ConfigError(
                f"source {self.name!r} stream {stream!r}: the saved position {since!r} does "
                f"not fit the stream's cursor and key ({', '.join(spec.order_by)}); reset it"
            )
        yield from self._ordered(spec, opts, since, since, batch_size)

    def _ordered(
        self,
        spec: StreamSpec,
        opts: StreamOptions,
        since: tuple[Any, ...] | None,
        ask: tuple[Any, ...] | None,
        batch_size: int,
    ) -> Iterator[pl.DataFrame]:
        """The pages of a read asking for the changes since ``ask``, without what is at
        or before ``since``, in position order, in batches of ``batch_size`` rows."""
        pages = self.pages(spec, opts, ask)
        if not spec.incremental:
            yield from frames.rebatch(pages, batch_size)
        elif opts.sorted:
            guard = frames.OrderGuard(spec.order_by, since)
            yield from frames.rebatch(
                (self._in_order(guard, p, spec.name) for p in pages), batch_size
            )
        else:
            yield from frames.rebatch(frames.sort_all(pages, spec.order_by, since), batch_size)

    def read_deleted(
        self, stream: str, since: Position | None, batch_size: int
    ) -> Iterator[DeletedBatch]:
        """Yield the records of ``stream`` deleted after ``since``, read from the stream's
        ``deletes.deleted_since`` list (see :mod:`connectors.rest.deleted`)."""
        listed = require_list(self.name, self.deletion_lists, stream)
        spec = listed.spec
        since = tuple(since) if since is not None else None
        if since is not None and len(since) != len(spec.order_by):
            raise ConfigError(
                f"source {self.name!r} stream {stream!r}: the saved deletes position "
                f"{since!r} does not fit ({', '.join(spec.order_by)}); reset it"
            )
        ask = since if since is not None else listed.first_since()
        rename = dict(zip(spec.primary_key, listed.primary_key, strict=True))
        for batch in self._ordered(spec, listed.options, since, ask, batch_size):
            keys = batch.select(list(spec.primary_key)).rename(rename)
            yield DeletedBatch(keys, batch.select(list(spec.order_by)).row(-1))

    def _in_order(self, guard: frames.OrderGuard, page: pl.DataFrame, stream: str) -> pl.DataFrame:
        try:
            return guard.admit(page)
        except FatalSyncError as exc:
            raise FatalSyncError(f"source {self.name!r} stream {stream!r}: {exc}") from None

    def pages(
        self, spec: StreamSpec, opts: StreamOptions, since: tuple[Any, ...] | None
    ) -> Generator[pl.DataFrame]:
        """Every page of one read as a typed frame (not yet filtered by position)."""
        client = self.client
        params: dict[str, Any] = dict(opts.params)
        if since is not None:
            value = frames.since_value(
                since[0], opts.incremental, opts.cursor_type, opts.cursor_timezone
            )
            params[opts.incremental.param] = value
        paginator = Paginator(opts.pagination, client.base_url)
        request: PageRequest | None = paginator.first(client.url(opts.path), params)
        seen: dict[str, pl.DataType] = {}  # columns of earlier pages: no page lacks them
        number = 0
        while request is not None:
            number += 1
            what = f"stream {spec.name!r} page {number}"
            url = request.url
            body, response = client.get_json(url, dict(request.params or {}) or None, what)
            try:
                records = self._records(body, opts)
                if records:
                    frame = self._frame(records, spec, opts)
                    missing = [pl.lit(None, t).alias(c) for c, t in seen.items() if c not in frame]
                    seen.update((c, t) for c, t in frame.schema.items() if c not in seen)
                    yield frame.with_columns(missing) if missing else frame
                request = paginator.next(request, body, response, len(records))
            except FatalSyncError as exc:
                where = client.where(url)
                raise FatalSyncError(f"source {self.name!r}: GET {where} ({what}): {exc}") from None

    def _records(self, body: Any, opts: StreamOptions) -> list[dict[str, Any]]:
        records = dig(body, opts.records_path)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            found = type(records).__name__ if records is not None else "nothing"
            raise FatalSyncError(
                f"expected a list of records at {opts.records_path or 'the top'!r}, found {found}"
            )
        return records

    def _frame(
        self, records: list[dict[str, Any]], spec: StreamSpec, opts: StreamOptions
    ) -> pl.DataFrame:
        frame = frames.to_frame(records, opts.columns)
        frames.require_values(frame, spec.order_by, spec.primary_key)
        return frames.type_cursor(frame, spec.cursor, opts) if spec.cursor else frame

    # -- writing ----------------------------------------------------------------------
    def write(self, request: WriteRequest, decide: Decide) -> WriteOutcome:
        """Apply one change if ``decide`` says so (see :mod:`connectors.rest.writer`)."""
        spec = self.stream(request.stream)
        return Writer(self.name, self.client, spec, self.stream_options[spec.name]).write(
            request, decide
        )

    def write_many(self, writes: Sequence[Write]) -> list[WriteOutcome | Exception]:
        """Apply changes to different records side by side, at most the source's
        ``max_connections`` requests at a time (a thread each); each change as
        :meth:`write` applies it, with its own outcome or error."""

        def one(write: Write) -> WriteOutcome | Exception:
            try:
                return self.write(*write)
            except Exception as exc:  # noqa: BLE001 - this change's error, the others go on
                return exc

        workers = min(self.config.max_connections, len(writes))
        if workers <= 1:
            return [one(w) for w in writes]
        with ThreadPoolExecutor(workers, thread_name_prefix=f"push-{self.name}") as pool:
            return list(pool.map(one, writes))

    # -- checking ---------------------------------------------------------------------
    def column_types(self, stream: str) -> dict[str, str] | None:
        """The fields of the stream's first page (and its declared ``columns``) with their
        polars types; None when the API has no record to show."""
        spec = self.stream(stream)
        pages = self.pages(spec, self.stream_options[stream], None)
        try:
            first = next(pages, None)
        finally:
            pages.close()
        return None if first is None else frame_types(first)

    def check(self) -> None:
        """Fetch the first page of every stream; report missing key or cursor fields."""
        problems = []
        for spec in self.streams():
            opts = self.stream_options[spec.name]
            try:
                first = next(self.pages(spec, opts, None), None)
            except ConfigError:
                raise
            except HubError as exc:
                problems.append(f"stream {spec.name!r}: {exc}")
                continue
            if first is None:
                continue
            missing = [c for c in spec.order_by if c not in first.columns]
            if missing:
                problems.append(f"stream {spec.name!r}: no field(s) {', '.join(missing)}")
        listed = (self._check_list(n, d) for n, d in self.deletion_lists.items())
        problems += [p for p in listed if p]
        if problems:
            raise ConfigError(f"source {self.name!r} ({self.client.base_url}):", problems)

    def _check_list(self, stream: str, listed: DeletionList) -> str | None:
        """The problem with the first page of a stream's list of deleted records, if any."""
        pages = self.pages(listed.spec, listed.options, listed.first_since())
        try:
            next(pages, None)
        except ConfigError:
            raise
        except HubError as exc:
            return f"stream {stream!r}: deletes.deleted_since: {exc}"
        finally:
            pages.close()
        return None
