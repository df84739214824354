"""``python -m bench extract``: PostgreSQL order lines into a store, hub against peers.

In one run, on the same source table: the bare driver's read (the ceiling), dlt's
``sql_table`` with its connectorx backend into PostgreSQL (the peer), the hub's full sync
into its PostgreSQL store, and as reference lines the hub into SQLite and dlt into DuckDB.
Then 1% of the rows change and the hub syncs incrementally, and once more with no change.
Three rounds of that, each changing another 1% of the rows; every round after the first
starts with a full sync into a fresh store of its own, so that each incremental run is
set against the full sync measured just before it, and the medians are reported. A run of
a few tenths of a second is at the mercy of one busy moment, and on a shared machine the
full sync's time moves too: a ratio of two runs minutes apart would measure the machine.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import jobs, pgdata, report
from bench.measure import ROOT, Measurement, run_job

PEER_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
PEER_SCRIPT = Path(__file__).parent / "peers" / "dlt_load.py"
STORE_DB = "crmhub_bench_store"
DLT_DB = "crmhub_bench_dlt"
#: Rounds of (change 1%, incremental sync, no-op sync); the medians are reported.
ROUNDS = 3


def peers_available() -> bool:
    """Whether the peers' own environment exists (made by ``make bench-env``)."""
    return PEER_PYTHON.exists()


def dlt_target(database: str) -> str:
    """dlt's PostgreSQL destination URL: dlt insists on a password (trust auth ignores it)."""
    return pgdata.url(database).replace("://postgres@", "://postgres:unused@", 1)


def dlt_job(name: str, destination: str, target: str, workdir: Path) -> Measurement:
    """dlt ``sql_table`` (backend connectorx) of order_lines into a destination."""
    argv = [
        "dlt_load",
        pgdata.url(pgdata.SOURCE_DB),
        "order_lines",
        destination,
        target,
        str(workdir / f"dlt-{destination}"),
    ]
    code = f"import sys\nsys.argv = {argv!r}\n" + PEER_SCRIPT.read_text(encoding="utf-8")
    return run_job(name, code, python=str(PEER_PYTHON))


def hub_job(name: str, config: Path, *, full_refresh: bool = False) -> Measurement:
    """The hub's sync of the bench source as configured in ``config``."""
    return run_job(name, jobs.render(jobs.HUB_SYNC, config=str(config), full_refresh=full_refresh))


def hub_pg_config(workdir: Path, batch_size: int) -> Path:
    """A fresh PostgreSQL store and a config that syncs the bench source into it."""
    pgdata.recreate_database(STORE_DB)
    return jobs.write_hub_config(
        workdir / "pg",
        store_url=pgdata.url(STORE_DB, "postgresql+psycopg"),
        source_url=pgdata.url(pgdata.SOURCE_DB, "postgresql+psycopg"),
        batch_size=batch_size,
    )


def median_run(runs: list[Measurement], name: str) -> Measurement:
    """The run of median time (the lower of the two middle ones for an even count), renamed
    to say so."""
    middle = sorted(runs, key=lambda m: m.seconds)[(len(runs) - 1) // 2]
    return Measurement(name, middle.rows, middle.seconds, middle.peak_mb, middle.extra)


def incremental_rounds(
    config: Path, full: Measurement, rounds: int, work: Path, batch_size: int
) -> tuple[list[Measurement], list[Measurement], list[Measurement]]:
    """``rounds`` times: (a full sync into a fresh store, after the first round, which uses
    ``full``), change another 1% of the rows, sync, sync again with no change."""
    fulls, incrementals, noops = [full], [], []
    for part in range(rounds):
        if part:
            config = hub_pg_config(work, batch_size)
            fulls.append(hub_job("crm-hub sync -> PostgreSQL", config))
        changed = pgdata.change_share(0.01, part)
        incremental = hub_job("crm-hub incremental (1% changed)", config)
        if incremental.rows != changed:
            raise SystemExit(f"incremental sync read {incremental.rows} rows, {changed} changed")
        incrementals.append(incremental)
        noops.append(hub_job("crm-hub incremental (no change)", config))
    return fulls, incrementals, noops


def run(
    rows: int,
    *,
    peers: bool = True,
    references: bool = True,
    batch_size: int = 10_000,
    as_json: bool = False,
    rounds: int = ROUNDS,
) -> dict[str, Any]:
    """Run the extract benchmark at ``rows`` order lines; print, save and plot the results."""
    say = print if not as_json else (lambda *a, **k: print(*a, **k, file=sys.stderr))
    if peers and not peers_available():
        raise SystemExit(
            f"the peers' environment {PEER_PYTHON.parent.parent} is missing: run `make bench-env` "
            "(or pass --no-peers)"
        )
    say(f"source: {rows:,} order lines in PostgreSQL database {pgdata.SOURCE_DB} ...")
    rebuilt = pgdata.build_source(rows)
    say("  built" if rebuilt else "  reused (same size and layout)")
    source = pgdata.url(pgdata.SOURCE_DB)
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as tmp:
        work = Path(tmp)
        copy = run_job("psycopg COPY TO STDOUT", jobs.render(jobs.DRIVER_COPY, url=source))
        driver = run_job("psycopg fetchmany(10000)", jobs.render(jobs.DRIVER_FETCHMANY, url=source))
        say(f"  driver: {driver.rows_per_s:,.0f} rows/s, COPY {copy.rows_per_s:,.0f} rows/s")
        dlt_pg = None
        if peers:
            pgdata.recreate_database(DLT_DB)
            dlt_pg = dlt_job("dlt connectorx -> PostgreSQL", "postgres", dlt_target(DLT_DB), work)
            say(f"  dlt -> PostgreSQL: {dlt_pg.rows_per_s:,.0f} rows/s")
        config = hub_pg_config(work, batch_size)
        hub = hub_job("crm-hub sync -> PostgreSQL", config)
        say(f"  crm-hub -> PostgreSQL: {hub.rows_per_s:,.0f} rows/s")
        refs: list[Measurement] = []
        if references:
            sqlite_config = jobs.write_hub_config(
                work / "sqlite",
                store_url=f"sqlite:///{work / 'sqlite' / 'crm-hub.db'}",
                source_url=pgdata.url(pgdata.SOURCE_DB, "postgresql+psycopg"),
                batch_size=batch_size,
            )
            refs.append(hub_job("crm-hub sync -> SQLite", sqlite_config))
            if peers:
                refs.append(
                    dlt_job("dlt connectorx -> DuckDB", "duckdb", str(work / "dlt.duckdb"), work)
                )
        fulls, incrementals, noops = incremental_rounds(config, hub, rounds, work, batch_size)
        suffix = f", median of {rounds}" if rounds > 1 else ""
        incremental = median_run(incrementals, f"crm-hub incremental (1% changed){suffix}")
        noop = median_run(noops, f"crm-hub incremental (no change){suffix}")
    main = [m for m in (driver, copy, dlt_pg, hub) if m] + refs
    shares = [i.seconds / f.seconds for i, f in zip(incrementals, fulls, strict=True)]
    figures = {
        "rows": rows,
        "hub_rows_per_s": round(hub.rows_per_s),
        "hub_peak_mb": round(hub.peak_mb),
        "dlt_rows_per_s": round(dlt_pg.rows_per_s) if dlt_pg else None,
        "dlt_peak_mb": round(dlt_pg.peak_mb) if dlt_pg else None,
        "driver_rows_per_s": round(driver.rows_per_s),
        "copy_rows_per_s": round(copy.rows_per_s),
        "hub_vs_dlt": round(hub.rows_per_s / dlt_pg.rows_per_s, 2) if dlt_pg else None,
        "hub_vs_driver": round(hub.rows_per_s / driver.rows_per_s, 2),
        "incremental_rows": incremental.rows,
        "incremental_seconds": round(incremental.seconds, 3),
        "incremental_vs_full": round(sorted(shares)[(len(shares) - 1) // 2], 4),
        "incremental_vs_full_runs": [round(share, 4) for share in shares],
        "incremental_runs_seconds": [round(m.seconds, 3) for m in incrementals],
        "full_runs_seconds": [round(m.seconds, 3) for m in fulls],
        "noop_seconds": round(noop.seconds, 3),
        "noop_runs_seconds": [round(m.seconds, 3) for m in noops],
        "contract_seconds": round(hub.extra.get("contract_seconds", 0.0), 3),
        "contract_share": round(hub.extra.get("contract_seconds", 0.0) / hub.seconds, 3),
        "batch_size": batch_size,
    }
    say("")
    say(report.table(f"extract: {rows:,} order lines, PostgreSQL source", main, baseline=driver))
    say("")
    say(report.table("incremental", [hub, incremental, noop]))
    say("")
    result = {
        "benchmark": "extract",
        "machine": report.machine(),
        "figures": figures,
        "measurements": [asdict(m) for m in [*main, incremental, noop]],
    }
    saved = report.save(f"extract-{rows}", result)
    plot = report.bar_chart(
        f"extract-{rows}", f"PostgreSQL order lines -> store, {rows:,} rows", main
    )
    say(f"results: {saved}, plot: {plot}")
    if as_json:
        print(json.dumps(figures))
    return result
