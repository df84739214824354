"""Prose of the extract section of docs/benchmarks.md that no result file holds: how Sling
is run, and where the hub's full sync spends its time (``python -m bench.syncprofile``)."""

SLING_NOTE = """\
The run above was made on a quiet machine (no other work; 2026-12-05, evening) with the
hub's new default of 50,000 rows a batch. The machine was faster for bulk reads than the
night before (the bare read 505,790 rows/s against 287,498) and its speed moved within the
hour: the same full sync gave 3.57 to 4.20 s over the evening, the hub's share of the bare
read 0.47x here, 0.49x in the run an hour before with the same code but the mapping change,
0.54x in a pair measured in-process. Its ratios against Sling are those of pairs measured
side by side.

How Sling runs (`bench/slingpeer.py`, `bench/peers/sling_load.py`): the binary of the
`sling-linux-amd64` wheel (1.4.11; `sling_linux_amd64.SLING_BIN` names it) from
`.venv-bench`, as `sling run --src-conn postgresql://... --src-stream public.order_lines
--tgt-conn postgresql://.../crmhub_bench_store --tgt-object sling_bench.order_lines --mode
full-refresh|incremental --primary-key order_id,line_no --update-key updated_at --tgt-options
'{"table_keys": {"primary": ["order_id", "line_no"]}}'`, with `SLING_DISABLE_TELEMETRY=true`
(no usage events, no error reports) and its home in the run's temporary folder; its update
check runs in the background and never holds a run up. Its target table gets the source's
primary key, as the hub's store table has one, so that an incremental merge finds its rows
by index; two full copies of 1,000,000 rows each way, interleaved, took 52.8 and 26.4 s with
the key, 33.3 and 27.2 s without (busy machine): no difference the noise lets through. Its
time is the `sling run` process from start to exit, which includes starting a 250 MB binary
(about 0.1 s) and its own connections; the hub's includes its connections but not the
interpreter's start. Sling and the hub copy into the same store database, one after the
other, taking turns going first in each round.
"""

PROFILE = """\
Where the full sync's time goes now (2026-12-05, quiet machine, 1,000,000 rows, one full
sync into a fresh store; `perf record -a` over the whole machine during the sync, shares of
all CPU samples): PostgreSQL 49% (the store's backends most: COPY, the key index's
comparisons, which go through `strcoll` since a `C.UTF-8` database is not the `C` collation
to PostgreSQL, WAL), the ADBC driver decoding the source's binary COPY 14% (numerics the
most), polars 14% (mapping, checks, the casts before encoding), CPython 5%, pgpq 2%, idle
11%. `python -m bench.syncprofile --rows 1000000` gave the hub's process 5.5 CPU-seconds
and the store's backends 5.2 to 6.6 in a 7.0 to 8.4 s sync that night; on the faster
evening after, at 50,000 rows a batch, 2.75, 2.66 to 2.69 and the source's backend 0.59 in
3.41 s (at 10,000: 3.01 to 3.04, 2.84 to 2.85 and 0.60 in 4.03 to 4.10 s): the two cores
are busy, and the store's server is the larger half.

What changed for issue #24 (each measured against the code before it, in pairs):

- **Binary COPY from Arrow** (`crm_core/pull/copy_binary.py`, pgpq): a batch is cast to
  its table's exact column types and encoded in PostgreSQL's binary COPY format, which the
  server stores without parsing text; a batch with a column of another type goes as CSV.
  300,000 mapped order lines, one connection, three pairs: the server's CPU 0.81 to 0.83 s
  against 1.13 to 1.19 s, encoding 0.10 to 0.13 s against 0.18 to 0.24 s. Full syncs of
  1,000,000 rows on a busy machine, in pairs: the store's CPU 5.8 to 6.3 s against 7.8 s.
- **Text made from numbers is not checked as text** (control characters, mojibake, length
  cannot be in digits), and one scan of a text value flags control characters and mojibake
  together (the reasons are still given apart, on the failed rows only).
- **An incremental run's fixed costs**: the last run's columns read while the source runs
  its query, the stage emptied by `DELETE` (`TRUNCATE` gave it a new file each batch), the
  hub's own connector kinds found without reading every installed package's entry points
  (9 to 13 ms a process). A run with nothing to read takes ~45 ms.

- **50,000 rows a batch by default** (`defaults.batch_size`, was 10,000). Each batch is one
  store transaction with its own commits, position and counts, staging and shares: about
  9 ms of fixed cost a batch here (the two commits' WAL flushes 3 ms, the ledger's two
  writes 1.3 ms, the rest in COPY starts, polars calls and thread hand-offs). Full syncs of
  1,000,000 rows in pairs, the same source: 10,000 rows 4.83 / 4.94 s, 50,000 rows 4.01 /
  3.92 s (16 to 20% less; 100,000 gave 4% more again); peak memory 296 MB against 385 to
  406 MB. An incremental run of 1% is one batch either way.
- **Mapping evaluated lazily**: one `LazyFrame.select` per batch lets polars compute what a
  value and its checks share once (the trimmed text, the decimal cast): 25 ms a 50,000-row
  batch of order lines instead of 34.
- **The upsert is a `MERGE`** on PostgreSQL 15 and later (`crm_core/pull/load.py`):
  `INSERT ... ON CONFLICT DO UPDATE` locks every row it finds before it looks at the
  values, one more WAL record a row, and on a row that did not change it writes that lock
  and nothing else. A full refresh of the unchanged 1,000,000 rows, in pairs: 5.81 / 5.51 s
  and no WAL at all, against 6.13 / 5.91 s and 218 / 56 MB of WAL. Upserts of 5,000
  changed rows alone, in pairs: 58 to 69 ms against 74 to 76 ms (medians of three sets).
- **NUMERIC columns sent as the server's text** (`connectors/pg_numeric.py`): ADBC's
  driver turns each NUMERIC of the binary COPY stream into text itself, slowly; a `SELECT *`
  of a table now lists its columns with each NUMERIC one as `CAST(col AS TEXT)`, and the
  hub makes the text exact decimals again (the declared scale). A whole read of the
  1,000,000 order lines into DataFrames, four pairs: 1.09 to 1.31 s and 1.04 to 1.33 s of
  the hub's CPU, against 1.93 to 2.02 s and 1.94 to 2.01 s. Full syncs in pairs: 5.36 /
  5.91 s, 6.13 / 5.85 s, 5.09 / 5.43 s (the hub's CPU 3.65 to 4.0 s against 4.63 to 4.9 s).
  Incremental runs, cold, alternating: 0.21 to 0.27 s either way.
- **The benchmark's source is built again once a run has changed it**
  (`bench/pgdata.py`). Reused, it held every row earlier runs had changed at the end of
  the order a full sync reads, so those rows sat together at the end of the store's table,
  and changing them again could not update them in their pages: 1,845 of 10,251 updates
  in place, against all of them on a fresh source.

What is left. An incremental run of 10,000 changed rows is bound by the two servers, one
after the other: the source's query (a bitmap scan of the cursor index and a sort: 13 to 50
ms of PostgreSQL's time, no row until all are sorted) and the store's upsert of rows spread
over the whole table, 80 to 150 ms for each of the two 5,000-row shares side by side. It is
not the page cache: on a second server with 2 GB of shared buffers, where both tables fit,
this benchmark gave the same share (6.4%, rounds 4.6 to 6.7%). Part of it is the WAL: the
first change of a page after a checkpoint writes the whole page to it, and the full sync before
writes 256 MB of WAL (`pg_waldump`: 142 MB of heap, 110 MB of key index), which starts a
checkpoint. The incremental after it wrote 11,037 full-page images (88 MB of WAL), the next
ones 4,574 and 2,295; an upsert share took 240 ms right after a `CHECKPOINT` against 155 ms
without one. A server that checkpoints every few minutes pays this on every incremental run.
Smaller batches, to start loading before the read ends, gave nothing (the source's sort
sends every row at once). So the share of the full sync rose as the full sync got faster:
5.6% the night before (0.23 s of 4.2 s), against 3.6% when the full sync took 7.4 s.
Declaring the key columns `COLLATE "C"` would spare the server `strcoll` in every index
comparison; not done, since comparing them with columns of the default collation would then
need explicit collations everywhere.
"""
