"""Key sets compared on the hub's side in bounded memory: keys spilled to local files.

A detect pass of deletes (:mod:`crm_core.pull.deletes`) compares every key the source has
with every live key of the store. Both arrive a batch at a time, in orders that need not
agree (a mapped key is not ordered as the source's own key is). Each batch is cast to the
store's key types and shared out by a hash of the key over ``parts`` files of Arrow IPC
(:class:`KeySpill`); the two sides' files of one part then hold the same keys when the
sets agree, and an anti-join part by part (:func:`missing`) finds the store's keys that
the source lacks. Memory is one batch while spilling and one part of each side while
comparing, whatever the table's size, since the number of parts grows with it.

Each key travels with a 64-bit hash of it (column ``_h``), and the comparison is an
anti-join on that one column: its hash table is small whatever the key's columns (the
two-column keys' own table took some 200 MB at a million keys). The source's side keeps
only the hashes (``keep_keys=False``); the store's side keeps its keys too, since they
are what the pass marks. Two different keys with one hash would hide a delete of the
store's key from that pass (never mark a key the source has): at a million keys a side,
a chance of about one in 10⁷.

Up to :data:`MEMORY_ROWS` keys a side, the keys stay in memory and are compared in one
anti-join (spilling writes every key to a file and reads it back); a side that grows
past that spills what it holds and goes on spilling, and the other side then
spills too before the comparison, part by part in bounded memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
from sqlalchemy import Integer, Table

#: Keys in one part, roughly: the memory of a part's anti-join.
PART_ROWS = 100_000
#: Parts at least (a small table still spreads; a file per part is cheap).
MIN_PARTS = 8
#: Parts at most (files open at once per side).
MAX_PARTS = 512
#: Keys a side keeps in memory before it spills to files (some 40 MB for the store's
#: side of a two-column key; beyond, memory is flat in the table's size).
MEMORY_ROWS = 1_000_000
#: The column of each key's hash (the part it goes to, and what the sides are joined on).
HASH = "_h"
#: The seed of the keys' hash: both sides hash alike in one process.
SEED = 0


def parts_for(rows: float) -> int:
    """How many parts for about ``rows`` keys."""
    wanted = math.ceil(max(rows, 0) / PART_ROWS)
    return min(MAX_PARTS, max(MIN_PARTS, wanted))


def key_schema(table: Table) -> dict[str, pl.DataType]:
    """The polars types of a record table's key columns (its primary key but ``source``)."""
    return {
        c.name: pl.Int64() if isinstance(c.type, Integer) else pl.String()
        for c in table.primary_key.columns
        if c.name != "source"
    }


class KeySpill:
    """One side's keys, shared out by hash over ``parts`` files under ``folder``; with
    ``keep_keys=False``, only the keys' hashes are kept (the side compared against)."""

    def __init__(
        self,
        folder: Path,
        schema: dict[str, pl.DataType],
        parts: int,
        memory_rows: int = MEMORY_ROWS,
        *,
        keep_keys: bool = True,
    ) -> None:
        self.folder = folder
        self.schema = schema
        self.parts = parts
        self.keep_keys = keep_keys
        self.rows = 0
        self.memory_rows = memory_rows
        #: the keys held in memory, until they are more than ``memory_rows``
        self.held: list[pl.DataFrame] | None = []
        self._writers: dict[int, Any] = {}
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def in_memory(self) -> bool:
        """Whether every key added so far is held in memory (none spilled)."""
        return self.held is not None

    def add(self, frame: pl.DataFrame) -> None:
        """Add a batch of keys (cast to the spill's types; extra columns ignored)."""
        if frame.height == 0:
            return
        keys = frame.select([pl.col(c).cast(t) for c, t in self.schema.items()])
        hashed = keys.hash_rows(seed=SEED).alias(HASH)
        keys = keys.with_columns(hashed) if self.keep_keys else hashed.to_frame()
        self.rows += keys.height
        if self.held is not None:
            self.held.append(keys)
            if self.rows <= self.memory_rows:
                return
            self.spill()
            return
        self._write(keys)

    def spill(self) -> None:
        """Write the keys held in memory to the part files; spill every later batch."""
        held, self.held = self.held or [], None
        for keys in held:
            self._write(keys)

    @property
    def stored_schema(self) -> dict[str, pl.DataType]:
        """The columns kept: the keys' and their hash, or the hash alone."""
        hashed: dict[str, pl.DataType] = {HASH: pl.UInt64()}
        return {**self.schema, **hashed} if self.keep_keys else hashed

    def all_hashed(self) -> pl.DataFrame:
        """Every key as kept (with its hash), held in memory (a side that has not spilled)."""
        if self.held is None:
            raise ValueError("the keys were spilled: read them part by part")
        return pl.concat(self.held) if self.held else pl.DataFrame(schema=self.stored_schema)

    def _write(self, keys: pl.DataFrame) -> None:
        part = _part_of(keys, self.parts).alias("_part")
        pieces = keys.with_columns(part).partition_by("_part", as_dict=True, include_key=False)
        for (index, *_), piece in pieces.items():
            self._writer(int(index)).write_table(piece.to_arrow())

    def _writer(self, index: int) -> Any:
        writer = self._writers.get(index)
        if writer is None:
            schema = pl.DataFrame(schema=self.stored_schema).to_arrow().schema
            sink = pa.OSFile(str(self._path(index)), "wb")
            writer = self._writers[index] = ipc.new_stream(sink, schema)
        return writer

    def _path(self, index: int) -> Path:
        return self.folder / f"{index}.arrows"

    def close(self) -> None:
        """Finish the files (idempotent)."""
        writers, self._writers = self._writers, {}
        for writer in writers.values():
            writer.close()

    def part(self, index: int) -> pl.DataFrame:
        """The keys of one part (empty when none came): the keys, or their hashes on a side
        that keeps no keys."""
        frames = list(self.batches(index))
        return pl.concat(frames) if frames else self._bare(pl.DataFrame(schema=self.stored_schema))

    def batches(self, index: int) -> Iterator[pl.DataFrame]:
        """The keys of one part, in the batches they were added in (as :meth:`part`)."""
        for keys in self.hashed_batches(index):
            yield self._bare(keys)

    def hashed_part(self, index: int) -> pl.DataFrame:
        """The keys of one part as kept, with their hashes."""
        frames = list(self.hashed_batches(index))
        return pl.concat(frames) if frames else pl.DataFrame(schema=self.stored_schema)

    def _bare(self, keys: pl.DataFrame) -> pl.DataFrame:
        return keys.drop(HASH) if self.keep_keys else keys

    def hashed_batches(self, index: int) -> Iterator[pl.DataFrame]:
        """The keys of one part as kept (with their hashes), in the batches they came in."""
        if self.held is not None:
            for keys in self.held:
                yield keys if self.parts == 1 else keys.filter(_part_of(keys, self.parts) == index)
            return
        path = self._path(index)
        if not path.exists():
            return
        with pa.OSFile(str(path), "rb") as source:
            for batch in ipc.open_stream(source):
                yield pl.DataFrame(pl.from_arrow(batch))


def _part_of(keys: pl.DataFrame, parts: int) -> pl.Series:
    """The part each key goes to: its hash modulo ``parts``."""
    return keys.get_column(HASH) % parts


def missing(store: KeySpill, source: KeySpill) -> Iterator[pl.DataFrame]:
    """The store's keys that the source lacks, joined on the keys' hashes: in one anti-join
    when both sides are held in memory, else one part at a time (both spills closed). The
    store's side must keep its keys; the source's may keep only hashes."""
    if store.parts != source.parts or store.schema != source.schema:
        raise ValueError("the two spills are not shared out alike")
    if not store.keep_keys:
        raise ValueError("the store's side must keep its keys: they are what is found")
    if store.in_memory and source.in_memory:
        gone = _anti(store.all_hashed(), source.all_hashed())
        if gone.height:
            yield gone
        return
    for side in (store, source):
        if side.in_memory:
            side.spill()
            side.close()
    for index in range(store.parts):
        mine = store.hashed_part(index)
        if mine.height == 0:
            continue
        gone = _anti(mine, source.hashed_part(index))
        if gone.height:
            yield gone


def _anti(mine: pl.DataFrame, theirs: pl.DataFrame) -> pl.DataFrame:
    """``mine``'s keys whose hash ``theirs`` lacks, without the hash."""
    return mine.join(theirs.select(HASH), on=HASH, how="anti").drop(HASH)
