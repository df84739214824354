"""Prose of the extract section of docs/benchmarks.md that no result file holds: how Sling
is run, and where the hub's full sync spends its time (``python -m bench.syncprofile``)."""

SLING_NOTE = """\
The run above was made on a quiet machine (no other work; 2026-12-06, early morning) with
50,000 rows a batch. This machine's speed moves within the hour (the bare read gave 247,068
to 346,006 rows/s in three runs that morning, the hub's full sync 3.8 to 5.7 s), so every
ratio here is of runs side by side: the rounds' pairs.

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
- **Checks the batch's types rule out are not built** (`mappings/compile.py`): an integer
  column cannot fail `int`, a `numeric(12, 3)` (PostgreSQL NUMERIC columns now keep their
  declared precision) cannot overflow the model's decimals or need rounding into them, and
  a code table's values are known clean text among the field's choices. The order lines
  keep 12 of their 25 checks; a 50,000-row batch maps in 16 ms instead of 38, and a batch
  under 25,000 rows is evaluated eagerly (10,000 rows: 4.5 ms, against 14 before), which
  spares a small incremental the lazy plan's ~2 ms. A property test holds typed batches to
  the rows and reasons of the same values sent as text.
- **An incremental run's first read and load get a head start**: the source opens its ADBC
  handle (~10 ms: the driver loaded and set up) while the engine reads the position and
  opens the run (`prepare`, `schemas.source.ConnectsAhead`), and the loader encodes one
  made-up row in a thread of its own, so the first batch's binary COPY does not wait for
  the encoder's and Arrow's code to be paged in (~15 ms in a fresh process). Six pairs of
  runs, 1% of 1,000,000 changed, alternating: 0.222 s against 0.244 s (medians).
- **The benchmark's source is built again once a run has changed it**
  (`bench/pgdata.py`). Reused, it held every row earlier runs had changed at the end of
  the order a full sync reads, so those rows sat together at the end of the store's table,
  and changing them again could not update them in their pages: 1,845 of 10,251 updates
  in place, against all of them on a fresh source.

What is left: the store's server. The benchmark now sets the hub's incremental against a
floor (`bench/incfloor.py`): another 1% of the rows copied out of the source in binary and
updated in the store by plain SQL on two connections, no mapping, checks, ledger or upsert,
the index probe per row that the hub's `MERGE` gets too. In the run above that floor took
0.173 s, 4.2% of the full sync: no tool reaches 3% on this server, and the hub's 0.24 s is
1.4x the floor. Updating 1% of the rows spread over the whole table touches a page for
nearly every row: one 5,000-row share of the `MERGE` read 5,394 pages (11 ms of reads) and
wrote 5,164 dirty ones back to make room (19 ms), since the full sync before it leaves the
128 MB of shared buffers full of its pages; `perf` puts half the two backends' CPU in the
kernel, copying those pages. After a checkpoint each first change of a page writes the whole
page to the WAL: 4,072 full-page images and 29 MB of WAL for one share, 110 ms against 70.
`wal_compression = lz4` (which needs a superuser) cut those bytes by 40% and the time not at
all. It is not the page cache either: on a second server with 2 GB of shared buffers, where
both tables fit, this benchmark gave the same share (6.4%, rounds 4.6 to 6.7%). The first
round is the slowest for the hub and the floor alike (0.42 and 0.34 s): both full copies of
the round, the hub's and Sling's, fill the WAL just before it. Smaller batches, to start
loading before the read ends, gave nothing (the source's sort sends every row at once). And
the share rises as the full sync gets faster: 3.6% when the full sync took 7.4 s, 5.8% now
that it takes 4.2.
Declaring the key columns `COLLATE "C"` would spare the server `strcoll` in every index
comparison; not done, since comparing them with columns of the default collation would then
need explicit collations everywhere.
"""
