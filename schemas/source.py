"""The Source protocol every connector implements, and the stream declaration.

A connector reads and writes records of its own system and knows nothing of mappings or of
the unified model. The engine owns state: it hands ``read`` the position after which to
read, and stores the new position only once a batch is durably loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from schemas.errors import ConfigError

if TYPE_CHECKING:
    import polars as pl

#: Where a read stopped: the cursor values followed by the primary-key values of the last
#: row read, in that order. ``None`` means "from the beginning".
Position = Sequence[Any]


@dataclass(frozen=True)
class StreamSpec:
    """A stream a connector offers: its name, primary key and optional cursor fields.

    Rows come ordered by ``cursor + primary_key``, so that position is a strict total
    order: ties on the cursor value are broken by the key, and no row is skipped or read
    twice across batches or runs. A stream without a cursor is read in full every time.
    """

    name: str
    primary_key: tuple[str, ...]
    cursor: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def order_by(self) -> tuple[str, ...]:
        """The columns a position is made of, in order."""
        return self.cursor + tuple(k for k in self.primary_key if k not in self.cursor)

    @property
    def incremental(self) -> bool:
        """Whether the stream can be read from a position (it has a cursor)."""
        return bool(self.cursor)


def pick_stream(source: str, streams: Iterable[StreamSpec], name: str) -> StreamSpec:
    """The stream called ``name`` among a source's ``streams``, or a ``ConfigError`` naming
    the source and its known streams."""
    specs = list(streams)
    for spec in specs:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in specs) or "none"
    raise ConfigError(f"source {source!r} has no enabled stream {name!r} (known: {known})")


@runtime_checkable
class Source(Protocol):
    """What the engine needs from a connector."""

    name: str

    def streams(self) -> list[StreamSpec]:
        """The streams this source offers."""
        ...

    def stream(self, name: str) -> StreamSpec:
        """One of :meth:`streams` by name; a ``ConfigError`` naming the known streams when
        there is no such stream (:func:`pick_stream` does both)."""
        ...

    def check(self) -> None:
        """Connect and touch every stream; raise ``ConfigError`` or ``RetriableError``."""
        ...

    def read(self, stream: str, since: Position | None, batch_size: int) -> Iterator[pl.DataFrame]:
        """Yield batches of at most ``batch_size`` rows after ``since``, in position order."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class KeyedSource(Source, Protocol):
    """A source that reads a stream's keys alone, for a detect pass of deletes (see
    ``deletes: detect`` in crm-hub.yaml). The engine falls back to a whole read."""

    def read_keys(
        self, stream: str, columns: Sequence[str], batch_size: int
    ) -> Iterator[pl.DataFrame]:
        """Yield every row's ``columns`` (the primary key first), in batches, in key order."""
        ...


@runtime_checkable
class ConnectsAhead(Source, Protocol):
    """A source that can start connecting for a read before the read is asked for: the
    engine tells it which stream comes next, then opens its run in the store meanwhile."""

    def prepare(self, stream: str) -> None:
        """Start, in the background, what a read of ``stream`` will need first (a database
        handle, a connection); a failure there is left for the read itself to meet."""
        ...


@dataclass(frozen=True)
class DeletedBatch:
    """Records a source lists as deleted: their keys, and where the next read starts."""

    #: the deleted records' keys, under the stream's primary-key names
    keys: pl.DataFrame
    #: the deletes position after these records: (moment of deletion, key values...)
    position: Position


@runtime_checkable
class DeletedSinceSource(Source, Protocol):
    """A source that lists the records of a stream deleted since a position (see
    ``deletes: {deleted_since: ...}`` in crm-hub.yaml); the engine keeps the position."""

    def read_deleted(
        self, stream: str, since: Position | None, batch_size: int
    ) -> Iterator[DeletedBatch]:
        """Yield the records deleted after ``since`` (None: every one the source keeps, or
        those of the configured initial lookback), in batches, in position order."""
        ...


#: What push-back decides on seeing a record's current values in the target:
#: ``write`` (go ahead), ``done`` (the change is already there: nothing to write) or
#: ``conflict`` (the target changed since the hub last read it: do not overwrite).
Decision = Literal["write", "done", "conflict"]
#: Called by ``write`` with the record's current raw values (its own column names; the
#: request's ``read_columns``), or None when there is no such record.
Decide = Callable[[Mapping[str, Any] | None], Decision]


def missing_record(create: bool) -> Decision:
    """The decision on a record that is not in the target: a change that creates it writes
    it; any other change is a conflict, for a record that is gone is never re-created by an
    update. Push-back's ``decide`` answers so, and a connector whose ``decide`` said
    ``write`` with no record there checks it again before it inserts."""
    return "write" if create else "conflict"


@dataclass(frozen=True)
class WriteRequest:
    """One change to one record of one stream, in the target system's own terms.

    ``key`` and ``values`` use the source's column names (the inverse of its mapping);
    ``idempotency_key`` is the same on every attempt of the same change (REST targets send
    it as the ``Idempotency-Key`` header); ``create`` inserts a new record instead of
    updating one.
    """

    stream: str
    key: Mapping[str, Any]
    values: Mapping[str, Any]
    idempotency_key: str
    create: bool = False
    #: more columns ``decide`` sees besides those of ``values`` (the record's change
    #: stamp, say, for a newest-wins conflict policy); never written
    also_read: tuple[str, ...] = ()

    @property
    def read_columns(self) -> list[str]:
        """The columns ``decide`` sees: those written, then ``also_read``."""
        return list(dict.fromkeys([*self.values, *self.also_read]))


@dataclass(frozen=True)
class WriteOutcome:
    """What ``write`` did: the decision taken and the record's values it was taken on."""

    decision: Decision
    current: Mapping[str, Any] | None


@runtime_checkable
class WritableSource(Source, Protocol):
    """A source the hub can write CRM-side changes back to (push-back).

    ``write`` reads the record's current values, asks ``decide``, and writes only on
    ``write``; where the system has transactions, reading and writing happen in one, with
    the record locked, so nothing changes between the decision and the write.
    """

    def write(self, request: WriteRequest, decide: Decide) -> WriteOutcome:
        """Apply one change if ``decide`` says so; return what happened."""
        ...


#: One write of a batch: the request and the decision on the record's current values.
Write = tuple[WriteRequest, Decide]


@runtime_checkable
class BatchWritableSource(WritableSource, Protocol):
    """A writable source that takes several changes at once (to different records): a
    database reads them all in one query and writes them in one transaction, a REST API
    sends them side by side, at most ``max_connections`` at a time. Each change is still
    decided on its own record's current values, as :meth:`WritableSource.write` does."""

    def write_many(self, writes: Sequence[Write]) -> list[WriteOutcome | Exception]:
        """Apply each change if its ``decide`` says so; per change, in order, what happened
        or the error that stopped it (as ``write`` would have raised it)."""
        ...
