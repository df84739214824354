"""Prose of the extract section of docs/benchmarks.md that no result file holds: how Sling
is run, and where the hub's full sync spends its time (``python -m bench.syncprofile``)."""

SLING_NOTE = """\
The run above was made on a busy machine (load average 7 to 15 on its 2 CPUs: other
sessions' benchmarks and tests), so its absolute figures are low and its ratios are those of
pairs measured side by side; the previous run, on a quieter machine (2026-11-23), gave the
bare read 205,273 rows/s, the hub 89,186 rows/s (0.43x of it, 2.43x dlt) and an incremental
run 3.3% of the full sync.

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
Where the full sync's time goes (`python -m bench.syncprofile --rows 200000`, twice, on the
same busy machine as the run above: load average 10 to 11 on 2 CPUs; one full sync into a
fresh store, every stage timed where it runs, the servers' CPU read from /proc):

| stage | thread | run 1 (s) | run 2 (s) |
|---|---|---:|---:|
| whole sync, 200,000 rows | | 4.66 | 4.25 |
| source read (query, fetch, frames) | reader | 1.59 | 1.77 |
| mapping | reader | 0.87 | 0.89 |
| contract checks | reader | 0.16 | 0.16 |
| load: COPY into the store, both connections' shares | loading | 3.07 | 2.84 |
| of which CSV encoding of the frames | both load connections | 0.35 | 0.34 |
| the batch's ledger writes and commit (commit batch less load) | loading | 0.68 | 0.52 |
| waiting for the next batch | loading | 0.91 | 0.89 |
| CPU of the hub's process (all threads) | | 1.30 | 1.30 |
| CPU of the store's backends (COPY, indexes, ledger) | server | 0.92 | 0.90 |
| CPU of the source's backend | server | 0.14 | 0.13 |

What it says. The loading thread is the critical path (load and ledger 3.4 to 3.8 s of
4.2 to 4.7 s; it waits for a batch less than 1 s in all), but the CPU it accounts for is
small: 2.3 CPU-seconds in all (hub 1.3, store 0.9, source 0.1) in a 4.2 to 4.7 s sync on
2 CPUs. On this machine the rest is waiting for a CPU among ~10 runnable tasks, and for the
store's commits (fsync and synchronous_commit on: 20 batch transactions plus 20 shares
committed on the second connection). On a quiet machine the same CPU work fits in about
1.3 s per 200,000 rows in the hub's process, i.e. ~6.5 s per 1,000,000, against the
issue's 6.8 s: there the hub's own CPU, in one process under one GIL, bounds the sync. Of
that CPU, mapping is the largest piece that the profile names (0.87 s of the reader thread
per 200,000 rows, ~4.4 µs a row), then the source read's conversion to frames, then CSV
encoding (0.35 s) that PostgreSQL parses again (part of its 0.9 s). So the candidates, in
that order: less work per row in mapping (or mapping in a process of its own beside the
loader), binary COPY straight from Arrow (no CSV text on either side), fewer commits on a
first load; not attempted here.
"""
