"""The conformance checks, as plain functions that raise ``AssertionError`` with a reason.

``connectors.testing.ConnectorConformance`` runs them as pytest tests; they are usable on
their own too (a notebook, another test runner). Each takes a connector that follows the
``Source`` protocol of ``schemas.source``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice, pairwise
from typing import Any

import polars as pl

from schemas.errors import ConfigError
from schemas.source import (
    Decision,
    Position,
    Source,
    StreamSpec,
    WritableSource,
    WriteRequest,
)

Row = tuple[Any, ...]


def declared_streams(source: Source) -> list[StreamSpec]:
    """The source's streams, checked: at least one, unique names, a primary key each."""
    streams = source.streams()
    assert streams, f"source {source.name!r} declares no streams"
    names = [s.name for s in streams]
    assert len(set(names)) == len(names), f"stream names repeat: {names}"
    for spec in streams:
        assert isinstance(spec, StreamSpec), f"{spec!r} is not a StreamSpec"
        assert spec.primary_key, f"stream {spec.name!r} has no primary key"
    return streams


def read_batches(
    source: Source, stream: str, batch_size: int, since: Position | None = None
) -> list[pl.DataFrame]:
    """Every batch of one read, checked to be DataFrames of 1..batch_size rows."""
    batches = list(source.read(stream, since, batch_size))
    for i, batch in enumerate(batches):
        assert isinstance(batch, pl.DataFrame), (
            f"stream {stream!r}: batch {i} is a {type(batch).__name__}, not a polars DataFrame"
        )
        assert 0 < batch.height <= batch_size, (
            f"stream {stream!r}: batch {i} has {batch.height} rows; batches must hold "
            f"1 to batch_size={batch_size} rows"
        )
    return batches


def rows(batches: Sequence[pl.DataFrame], columns: Sequence[str] | None = None) -> list[Row]:
    """All rows of a read as tuples (of ``columns``, default the first batch's)."""
    if not batches:
        return []
    cols = list(columns or batches[0].columns)
    return [r for b in batches for r in b.select(cols).iter_rows()]


def positions(batches: Sequence[pl.DataFrame], spec: StreamSpec) -> list[Row]:
    """The position (cursor + key values) of every row, as the engine takes it."""
    return rows(batches, spec.order_by)


def check_readable(
    source: Source, spec: StreamSpec, batch_size: int, expected_rows: int | None = None
) -> list[pl.DataFrame]:
    """Read a stream whole: its position columns present, keys unique, the expected count."""
    batches = read_batches(source, spec.name, batch_size)
    total = sum(b.height for b in batches)
    if expected_rows is not None:
        assert total == expected_rows, (
            f"stream {spec.name!r}: read {total} rows, the source holds {expected_rows}"
        )
    if batches:
        missing = [c for c in spec.order_by if c not in batches[0].columns]
        assert not missing, f"stream {spec.name!r}: batches lack column(s) {missing}"
        keys = rows(batches, spec.primary_key)
        assert len(set(keys)) == len(keys), f"stream {spec.name!r}: a primary key repeats"
    return batches


def check_position_order(batches: Sequence[pl.DataFrame], spec: StreamSpec) -> None:
    """Rows come in strictly increasing position order, across batches too."""
    seen = positions(batches, spec)
    for i, (before, after) in enumerate(pairwise(seen)):
        assert before < after, (
            f"stream {spec.name!r}: row {i + 1} at position {after} does not come after "
            f"{before}; rows must be ordered by {', '.join(spec.order_by)}"
        )


def sample_indices(count: int, batch_size: int) -> list[int]:
    """Positions worth resuming from: first row, a batch's end, the middle, last row."""
    picks = {0, min(batch_size, count) - 1, count // 2, count - 1}
    return sorted(i for i in picks if 0 <= i < count)


def check_incremental(
    source: Source, spec: StreamSpec, batches: Sequence[pl.DataFrame], batch_size: int
) -> None:
    """Reading from the position of row i returns exactly rows i+1.. of the full read."""
    if not spec.incremental or not batches:
        return
    columns = batches[0].columns
    full = rows(batches, columns)
    marks = positions(batches, spec)
    for i in sample_indices(len(full), batch_size):
        since = marks[i]
        got = rows(read_batches(source, spec.name, batch_size, since), columns)
        expected = full[i + 1 :]
        assert got == expected, _difference(spec.name, since, got, expected)


def _difference(stream: str, since: Position, got: list[Row], expected: list[Row]) -> str:
    extra = [r for r in got if r not in expected][:1]
    lost = [r for r in expected if r not in got][:1]
    return (
        f"stream {stream!r}: reading after position {tuple(since)} gave {len(got)} rows, "
        f"expected exactly the {len(expected)} after it"
        + (f"; unexpected: {extra[0]}" if extra else "")
        + (f"; missing: {lost[0]}" if lost else "")
    )


def check_bad_credentials(make_source: Callable[[], Source], secret: str) -> ConfigError:
    """A source with wrong credentials fails with one clear ConfigError line, no secret."""
    source = make_source()
    try:
        source.check()
        for spec in source.streams():
            list(islice(source.read(spec.name, None, 1), 1))
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message, f"the error takes several lines: {message!r}"
        assert source.name in message, f"the error does not name the source: {message!r}"
        assert secret not in message, "the error shows the password"
        return exc
    except Exception as exc:
        raise AssertionError(
            f"wrong credentials raised {type(exc).__name__}, not ConfigError: {exc}"
        ) from exc
    finally:
        source.close()
    raise AssertionError("the source accepted wrong credentials")


def check_write_round_trip(
    source: Source, stream: str, records: Sequence[Mapping[str, Any]], batch_size: int
) -> None:
    """Written records read back with the written values; ``decide`` sees the record's
    current values (None before it exists); writing again finds them and adds nothing."""
    assert isinstance(source, WritableSource), f"source {source.name!r} cannot write"
    spec = source.stream(stream)

    def request(record: Mapping[str, Any]) -> WriteRequest:
        return WriteRequest(
            stream=stream,
            key={k: record[k] for k in spec.primary_key},
            values={k: v for k, v in record.items() if k not in spec.primary_key},
            idempotency_key=f"conformance:{stream}:{[record[k] for k in spec.primary_key]}",
            create=True,
        )

    seen: list[Mapping[str, Any] | None] = []

    def first(current: Mapping[str, Any] | None) -> Decision:
        seen.append(current)
        return "write"

    for record in records:
        outcome = source.write(request(record), first)
        assert outcome.decision == "write", f"write decided {outcome.decision!r}"
    before = _by_key(read_batches(source, stream, batch_size), spec.primary_key)
    for record in records:
        key = tuple(record[k] for k in spec.primary_key)
        assert key in before, f"stream {stream!r}: written record {key} does not read back"
        for field, value in record.items():
            assert before[key][field] == value, (
                f"stream {stream!r} record {key} field {field!r}: wrote {value!r}, "
                f"read back {before[key][field]!r}"
            )
    again: list[Mapping[str, Any] | None] = []

    def second(current: Mapping[str, Any] | None) -> Decision:
        again.append(current)
        return "done"

    for record in records:
        source.write(request(record), second)
    assert all(c is not None for c in again), "decide saw no record where one was written"
    after = _by_key(read_batches(source, stream, batch_size), spec.primary_key)
    assert len(after) == len(before), "writing the same records again added rows"


def _by_key(batches: Iterable[pl.DataFrame], key: Sequence[str]) -> dict[Row, dict[str, Any]]:
    return {
        tuple(row[k] for k in key): row for batch in batches for row in batch.iter_rows(named=True)
    }
