"""The Source protocol every connector implements, and the stream declaration.

A connector reads and writes records of its own system and knows nothing of mappings or of
the unified model. The engine owns state: it hands ``read`` the position after which to
read, and stores the new position only once a batch is durably loaded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

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


@runtime_checkable
class Source(Protocol):
    """What the engine needs from a connector."""

    name: str

    def streams(self) -> list[StreamSpec]:
        """The streams this source offers."""
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
class WritableSource(Source, Protocol):
    """A source the hub can write changes back to (push-back)."""

    def write(self, stream: str, records: Sequence[Mapping[str, Any]]) -> int:
        """Upsert records of a stream by primary key; return how many were written."""
        ...
