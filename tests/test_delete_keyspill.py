"""The key spill of a detect pass of deletes: the store's keys the source lacks are found
exactly, whatever the batches, their order and the number of parts."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from crm_core.pull.keyspill import (
    MAX_PARTS,
    MIN_PARTS,
    KeySpill,
    key_schema,
    missing,
    parts_for,
)
from crm_core.store.tables import RECORD_TABLES

SCHEMA = key_schema(RECORD_TABLES["order_lines"])


def _batches(rows: list[tuple[str, int]], size: int) -> list[pl.DataFrame]:
    frame = pl.DataFrame(rows, schema={"order_id": pl.String, "line_no": pl.Int64}, orient="row")
    return [frame.slice(i, size) for i in range(0, frame.height, size)]


@pytest.mark.parametrize("source_keeps_keys", [True, False], ids=["keys", "hashes"])
@pytest.mark.parametrize("parts", [1, 7, 64])
@pytest.mark.parametrize(
    ("store_memory", "source_memory"),
    [(None, None), (0, 0), (1_000, None)],
    ids=["held", "spilled", "store-spills-midway"],
)
def test_missing_finds_exactly_the_store_keys_the_source_lacks(
    tmp_path: Path,
    parts: int,
    store_memory: int | None,
    source_memory: int | None,
    source_keeps_keys: bool,
) -> None:
    """The same keys are found whether both sides stay in memory, both spill from the
    start, or one spills part way (after 1,000 keys) and the other does not; and whether
    the source's side keeps its keys or only their hashes (as a detect pass does)."""
    keys = [(str(order), line) for order in range(1, 1_001) for line in (1, 2, 3)]
    rng = random.Random(parts)
    gone = set(rng.sample(keys, 37))
    new = [(f"new-{i}", 1) for i in range(5)]  # in the source, not yet in the store
    source_rows = [k for k in keys if k not in gone] + new
    rng.shuffle(source_rows)  # the source's order is not the store's
    store = _spill(tmp_path / "store", parts, store_memory)
    source = _spill(tmp_path / "source", parts, source_memory, keep_keys=source_keeps_keys)
    for frame in _batches(keys, 250):
        store.add(frame)
    for frame in _batches(source_rows, 333):
        source.add(frame.with_columns(pl.col("line_no").cast(pl.Int32)))  # cast on the way in
    store.close()
    source.close()
    assert store.in_memory == (store_memory is None)
    found = [row for frame in missing(store, source) for row in frame.iter_rows()]
    assert sorted(found) == sorted(gone)
    assert (store.rows, source.rows) == (len(keys), len(source_rows))
    by_part = [row for i in range(parts) for f in store.batches(i) for row in f.iter_rows()]
    assert sorted(by_part) == sorted(keys)  # each key in exactly one part, held or spilled


def _spill(folder: Path, parts: int, memory_rows: int | None, keep_keys: bool = True) -> KeySpill:
    if memory_rows is None:
        return KeySpill(folder, SCHEMA, parts, keep_keys=keep_keys)
    return KeySpill(folder, SCHEMA, parts, memory_rows=memory_rows, keep_keys=keep_keys)


def test_missing_is_empty_when_the_sets_agree_and_an_empty_side_has_no_file(
    tmp_path: Path,
) -> None:
    store = KeySpill(tmp_path / "store", SCHEMA, 4)
    source = KeySpill(tmp_path / "source", SCHEMA, 4)
    for spill in (store, source):
        spill.add(pl.DataFrame({"order_id": ["a", "b"], "line_no": [1, 2]}))
        spill.close()
    assert list(missing(store, source)) == []
    empty = KeySpill(tmp_path / "empty", SCHEMA, 4)
    empty.close()
    assert [f.height for f in missing(store, empty)] != []
    assert sum(f.height for f in missing(store, empty)) == 2
    assert empty.part(0).schema == pl.Schema(SCHEMA)


def test_parts_grow_with_the_table_within_bounds() -> None:
    assert parts_for(0) == parts_for(-1) == MIN_PARTS
    assert parts_for(10_000_000) == 100
    assert parts_for(1e12) == MAX_PARTS
    assert key_schema(RECORD_TABLES["orders"]) == {"order_id": pl.String()}


def test_a_side_of_hashes_only_cannot_be_the_store_side(tmp_path: Path) -> None:
    """The store's side must keep its keys: they are what a pass marks deleted."""
    hashes = KeySpill(tmp_path / "h", SCHEMA, 4, keep_keys=False)
    hashes.add(pl.DataFrame({"order_id": ["a", "b"], "line_no": [1, 2]}))
    assert all(hashes.part(i).columns == ["_h"] for i in range(4))
    assert sum(hashes.part(i).height for i in range(4)) == 2
    with pytest.raises(ValueError, match="must keep its keys"):
        list(missing(hashes, hashes))


def _load_uncounted(store: Engine, rows: int) -> None:
    """``rows`` order lines of source ``erp`` loaded in bulk, the table never analyzed."""
    from sqlalchemy import text

    with store.begin() as conn:
        conn.execute(text("ALTER TABLE order_lines SET (autovacuum_enabled = false)"))
        conn.execute(
            text(
                "INSERT INTO order_lines (source, order_id, line_no, item_id, quantity, "
                "unit_price, amount) SELECT 'erp', g::text, 1, 'X', 1, 1, 1 "
                "FROM generate_series(1, :rows) g"
            ),
            {"rows": rows},
        )


def test_a_table_never_counted_is_sized_by_its_bytes(pg_url: str) -> None:
    """A store table loaded in bulk and never analyzed has no row count: its parts are
    sized from its bytes, on the high side, not taken as empty (a few huge parts)."""
    from sqlalchemy import text

    from crm_core.pull.detect_columnar import estimated_rows
    from crm_core.store.db import open_store

    store = open_store(pg_url)
    table = RECORD_TABLES["order_lines"]
    _load_uncounted(store, 5_000)
    assert estimated_rows(store, table).rows >= 5_000
    assert not estimated_rows(store, table).counted
    assert parts_for(estimated_rows(store, table).rows) == MIN_PARTS
    with store.begin() as conn:
        conn.execute(text("ANALYZE order_lines"))
    assert estimated_rows(store, table) == (5_000, True)
    store.dispose()


def test_the_store_keys_of_a_table_never_counted_are_read_in_one_sequential_scan(
    pg_url: str,
) -> None:
    """Without statistics the planner would scan the whole key index first: the key read
    of a table just loaded in bulk turns index plans off; once counted, the planner picks."""
    import psycopg
    from sqlalchemy import text

    from connectors.arrow_pg import adbc_uri
    from crm_core.pull.detect_columnar import estimated_rows, store_read_url
    from crm_core.store.db import open_store

    store = open_store(pg_url)
    table = RECORD_TABLES["order_lines"]
    _load_uncounted(store, 20_000)
    query = "EXPLAIN SELECT order_id, line_no FROM order_lines WHERE source = 'erp'"

    def plan() -> str:
        url = store_read_url(store, estimated_rows(store, table))
        with psycopg.connect(adbc_uri(url)) as conn:  # the URI the key read connects with
            return "\n".join(str(row[0]) for row in conn.execute(query))

    assert "Seq Scan" in plan()
    with store.begin() as conn:
        conn.execute(text("ANALYZE order_lines"))
    assert "enable_indexscan" not in str(store_read_url(store, estimated_rows(store, table)))
    store.dispose()
