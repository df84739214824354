"""Prose of the extract section of docs/benchmarks.md that no result file holds: how Sling
is run, and where the hub's full sync spends its time (``python -m bench.syncprofile``)."""

SLING_NOTE = """\
The run above was made on a quiet machine (no other work; 2026-12-05), but a slower one
than the day before: the bare read gave 287,498 rows/s against 420,332 then, Sling took
13.7 s against 10.2 s. Its ratios are those of pairs measured side by side. Its full sync
rounds took 8.19, 6.85 and 7.38 s: the first is the one set against the bare read above
(0.42x); the second would be 0.51x.

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
11%. `python -m bench.syncprofile --rows 1000000` gives the hub's process 5.5 CPU-seconds
and the store's backends 5.2 to 6.6 in a 7.0 to 8.4 s sync: the two cores are busy, and the
store's server is the larger half.

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

What is left. An incremental run of 10,000 changed rows is bound by the store's upsert of
rows spread over the whole table: `EXPLAIN (ANALYZE, WAL)` of one 5,000-row share gives
68 ms right after a checkpoint (4,571 full-page images, 32 MB of WAL; the 234 MB table does
not fit in 128 MB of shared buffers) and 29 ms once its pages were logged; Sling pays the
same. A table with `fillfactor = 90` made 98% of such updates HOT (no index insert; WAL
records halved) at the cost of 11% more pages on a first load; not adopted, since the
timings on a busy machine could not show a gain. Declaring the key columns `COLLATE "C"`
would spare the server `strcoll` in every index comparison; not done, since comparing them
with columns of the default collation would then need explicit collations everywhere.
"""
