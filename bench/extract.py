"""``python -m bench extract``: PostgreSQL order lines into a store, hub against peers.

In one run, on the same source table: the bare driver's read (the ceiling), dlt's
``sql_table`` with its connectorx backend into PostgreSQL (the peer), the hub's full sync
into its PostgreSQL store, Sling's full-refresh copy into a schema of its own in the same
store database (the second peer, :mod:`bench.slingpeer`), and as reference lines the hub
into SQLite and dlt into DuckDB. Then 1% of the rows change and the hub and Sling each
sync incrementally, and once more with no change; last, yet another 1% is updated by plain
SQL, the floor under any incremental on this store (:mod:`bench.incfloor`). Three rounds
of that, each changing other rows; every round after the first starts with a full sync of
each into a fresh store, so that each incremental run is set against the full sync measured
just before it, and the medians are reported; within a round the hub and Sling take turns
going first. A run of a few tenths of a second is at the mercy of one busy moment, and on a
shared machine the full sync's time moves too: a ratio of two runs minutes apart would
measure the machine.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench import incfloor, jobs, pgdata, report, slingpeer
from bench.measure import ROOT, Measurement, run_job
from schemas.settings import DEFAULT_BATCH_SIZE

PEER_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
PEER_SCRIPT = Path(__file__).parent / "peers" / "dlt_load.py"
STORE_DB = "crmhub_bench_store"
DLT_DB = "crmhub_bench_dlt"
#: Rounds of (change 1%, incremental sync, no-op sync); the medians are reported.
ROUNDS = 3
#: A Sling run of the round: (name, incremental) -> its measurement.
SlingJob = Callable[[str, bool], Measurement]


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


def sling_peer(peers: bool, work: Path, say: Callable[..., None]) -> SlingJob | None:
    """Sling's job in this run's store, or None (saying why) where it cannot run."""
    if not peers:
        return None
    version, missing = slingpeer.locate(PEER_PYTHON)
    if version is None:
        say(f"  Sling skipped: {missing}; its figures are null")
        return None
    say(f"  Sling {version} from the peers' environment")

    def job(name: str, incremental: bool) -> Measurement:
        return slingpeer.job(
            name, PEER_PYTHON, STORE_DB, work / "sling-home", incremental=incremental
        )

    return job


def median_run(runs: list[Measurement], name: str) -> Measurement:
    """The run of median time (the lower of the two middle ones for an even count), renamed
    to say so."""
    middle = sorted(runs, key=lambda m: m.seconds)[(len(runs) - 1) // 2]
    return Measurement(name, middle.rows, middle.seconds, middle.peak_mb, middle.extra)


@dataclass
class Rounds:
    """Each round's full, incremental and no-op runs: the hub's, and Sling's when it ran."""

    fulls: list[Measurement]
    incrementals: list[Measurement] = field(default_factory=list)
    noops: list[Measurement] = field(default_factory=list)
    sling_fulls: list[Measurement] = field(default_factory=list)
    sling_incrementals: list[Measurement] = field(default_factory=list)
    sling_noops: list[Measurement] = field(default_factory=list)
    #: the plain SQL update of another 1% of the rows, at the end of each round
    floors: list[Measurement] = field(default_factory=list)


def _pair(
    hub: Callable[[], Measurement], sling: Callable[[], Measurement] | None, part: int
) -> tuple[Measurement, Measurement | None]:
    """Run the hub's job and Sling's (if any), Sling first in odd rounds; return both."""
    if sling is None:
        return hub(), None
    if part % 2:
        theirs = sling()
        return hub(), theirs
    ours = hub()
    return ours, sling()


def incremental_rounds(
    config: Path,
    full: Measurement,
    rounds: int,
    work: Path,
    batch_size: int,
    sling: SlingJob | None = None,
    sling_full: Measurement | None = None,
) -> Rounds:
    """``rounds`` times: (a full sync into a fresh store, after the first round, which uses
    ``full``), change another 1% of the rows, sync, sync again with no change; each step
    paired with Sling's when ``sling`` is given (its first full copy: ``sling_full``). Last
    in each round, yet another 1% changes and is updated by plain SQL (:mod:`bench.incfloor`):
    after the incremental runs, on other rows, so the pages they touched are in the server's
    buffers, which if anything favours the floor."""
    out = Rounds([full], sling_fulls=[sling_full] if sling_full else [])

    def sling_step(name: str, incremental: bool) -> Callable[[], Measurement] | None:
        return partial(sling, name, incremental) if sling else None

    for part in range(rounds):
        if part:
            config = hub_pg_config(work, batch_size)
            hub, peer = _pair(
                partial(hub_job, "crm-hub sync -> PostgreSQL", config),
                sling_step("Sling full-refresh -> PostgreSQL", False),
                part,
            )
            out.fulls.append(hub)
            if peer:
                out.sling_fulls.append(peer)
        changed = pgdata.change_share(0.01, part)
        for kind, hubs, slings in (
            ("1% changed", out.incrementals, out.sling_incrementals),
            ("no change", out.noops, out.sling_noops),
        ):
            hub, peer = _pair(
                partial(hub_job, f"crm-hub incremental ({kind})", config),
                sling_step(f"Sling incremental ({kind})", True),
                part,
            )
            for m in (hub, peer) if kind == "1% changed" else ():
                if m and m.rows != changed:
                    raise SystemExit(f"{m.name} read {m.rows} rows, {changed} changed")
            hubs.append(hub)
            if peer:
                slings.append(peer)
        since = incfloor.last_change()
        changed = pgdata.change_share(0.01, rounds + part)  # rows no run here has changed
        out.floors.append(incfloor.job(STORE_DB, since))
        if out.floors[-1].rows != changed:
            raise SystemExit(f"the floor updated {out.floors[-1].rows} rows, {changed} changed")
    return out


def _median(values: list[float]) -> float:
    return sorted(values)[(len(values) - 1) // 2]


def sling_figures(rounds: Rounds) -> dict[str, Any]:
    """Sling's figures (None where it did not run): medians of its rounds, and the medians
    of the paired ratios hub/Sling, rows/s of the full copies and seconds of the
    incremental runs (above 1 the hub is faster for the first, slower for the second)."""
    if not rounds.sling_fulls:
        keys = ("rows_per_s", "peak_mb", "incremental_seconds", "noop_seconds")
        none: dict[str, Any] = {f"sling_{k}": None for k in keys}
        return none | {"hub_vs_sling": None, "incremental_vs_sling": None}
    fulls = [
        h.rows_per_s / s.rows_per_s for h, s in zip(rounds.fulls, rounds.sling_fulls, strict=True)
    ]
    incs = [
        h.seconds / s.seconds
        for h, s in zip(rounds.incrementals, rounds.sling_incrementals, strict=True)
    ]
    return {
        "sling_rows_per_s": round(_median([m.rows_per_s for m in rounds.sling_fulls])),
        "sling_peak_mb": round(rounds.sling_fulls[0].peak_mb),
        "sling_incremental_seconds": round(
            _median([m.seconds for m in rounds.sling_incrementals]), 3
        ),
        "sling_noop_seconds": round(_median([m.seconds for m in rounds.sling_noops]), 3),
        "hub_vs_sling": round(_median(fulls), 2),
        "incremental_vs_sling": round(_median(incs), 2),
        "hub_vs_sling_runs": [round(r, 2) for r in fulls],
        "incremental_vs_sling_runs": [round(r, 2) for r in incs],
        "sling_full_runs_seconds": [round(m.seconds, 3) for m in rounds.sling_fulls],
        "sling_incremental_runs_seconds": [round(m.seconds, 3) for m in rounds.sling_incrementals],
        "sling_noop_runs_seconds": [round(m.seconds, 3) for m in rounds.sling_noops],
        "sling_version": rounds.sling_fulls[0].extra.get("sling"),
    }


def run(
    rows: int,
    *,
    peers: bool = True,
    references: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
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
        sling, sling_full = sling_peer(peers, work, say), None
        if sling:
            sling_full = sling("Sling full-refresh -> PostgreSQL", False)
            say(f"  Sling -> PostgreSQL: {sling_full.rows_per_s:,.0f} rows/s")
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
        done = incremental_rounds(config, hub, rounds, work, batch_size, sling, sling_full)
        fulls, incrementals, noops = done.fulls, done.incrementals, done.noops
        suffix = f", median of {rounds}" if rounds > 1 else ""
        incremental = median_run(incrementals, f"crm-hub incremental (1% changed){suffix}")
        noop = median_run(noops, f"crm-hub incremental (no change){suffix}")
        floor = median_run(done.floors, f"plain SQL update of 1%{suffix}")
        sling_runs: list[Measurement] = []
        if sling_full:
            sling_runs = [
                median_run(done.sling_incrementals, f"Sling incremental (1% changed){suffix}"),
                median_run(done.sling_noops, f"Sling incremental (no change){suffix}"),
            ]
            for m in sling_runs:
                say(f"  {m.name}: {m.seconds:.3f} s")
    main = [m for m in (driver, copy, dlt_pg, hub, sling_full) if m] + refs
    shares = [i.seconds / f.seconds for i, f in zip(incrementals, fulls, strict=True)]
    floor_shares = [i.seconds / f.seconds for i, f in zip(done.floors, fulls, strict=True)]
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
        "floor_seconds": round(floor.seconds, 3),
        "floor_vs_full": round(_median(floor_shares), 4),
        "floor_runs_seconds": [round(m.seconds, 3) for m in done.floors],
        "noop_seconds": round(noop.seconds, 3),
        "noop_runs_seconds": [round(m.seconds, 3) for m in noops],
        **sling_figures(done),
        "contract_seconds": round(hub.extra.get("contract_seconds", 0.0), 3),
        "contract_share": round(hub.extra.get("contract_seconds", 0.0) / hub.seconds, 3),
        "batch_size": batch_size,
    }
    say("")
    say(report.table(f"extract: {rows:,} order lines, PostgreSQL source", main, baseline=driver))
    say("")
    sling_table = [sling_full, *sling_runs] if sling_full else []
    say(report.table("incremental", [hub, incremental, noop, floor, *sling_table]))
    say("")
    if figures["hub_vs_sling"] is not None:
        say(
            f"crm-hub / Sling: full {figures['hub_vs_sling']}x the rows/s "
            f"(rounds {figures['hub_vs_sling_runs']}), incremental "
            f"{figures['incremental_vs_sling']}x the seconds "
            f"(rounds {figures['incremental_vs_sling_runs']}; below 1: the hub is faster)"
        )
        say("")
    result = {
        "benchmark": "extract",
        "machine": report.machine(),
        "figures": figures,
        "measurements": [asdict(m) for m in [*main, incremental, noop, floor, *sling_runs]],
    }
    saved = report.save(f"extract-{rows}", result)
    plot = report.bar_chart(
        f"extract-{rows}", f"PostgreSQL order lines -> store, {rows:,} rows", main
    )
    say(f"results: {saved}, plot: {plot}")
    if as_json:
        print(json.dumps(figures))
    return result
