"""``crm-hub demo``: a sample ERP, a full sync, a day of changes, an incremental sync.

The engines, the store and polars load when the demo runs, not with the command line.
"""

from __future__ import annotations

import socket
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_core.cli.render import console, progress_printer, results_table

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crm_core.pull.sync import StreamResult
    from schemas.settings import HubConfig


def demo(
    workdir: Annotated[
        Path, typer.Option("--workdir", "-w", help="Folder for the sample ERPs, config and store.")
    ] = Path("crm-hub-demo"),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 42,
    customers: Annotated[
        int, typer.Option(help="Customers in the legacy ERP (the others get fewer).", min=10)
    ] = 3000,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The demo's today, YYYY-MM-DD (default: today).")
    ] = None,
    rest_port: Annotated[
        int, typer.Option("--rest-port", help="Port of the sample REST ERP (0: any free one).")
    ] = 8766,
    service_desk_port: Annotated[
        int, typer.Option("--service-desk-port", help="Port of the sample service desk (0: any).")
    ] = 8767,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary.")] = False,
) -> None:
    """Three sample back offices (a legacy DB2-style ERP, a modern ERP, a REST API) with
    shared customers, a service desk and a marketing system: sync them in full, reconcile
    the customers into golden records, change them, and sync and reconcile again,
    incrementally."""
    from crm_core.golden import reconcile
    from crm_core.pull.sync import SyncEngine
    from crm_core.store.db import open_store
    from sample_erps import scenario  # the generators load only for the demo
    from schemas.settings import load_config

    today = date.fromisoformat(as_of) if as_of else date.today()
    workdir = workdir.resolve()
    console.print(f"[bold]crm-hub demo[/bold] in {workdir} (seed {seed}, as of {today})")
    started = time.perf_counter()
    port = rest_port or _free_port()
    desk_port = service_desk_port or _free_port()
    counts = scenario.prepare(
        workdir,
        seed=seed,
        customers=customers,
        as_of=today - timedelta(days=1),
        systems=scenario.SOURCES,
        rest_port=port,
        service_desk_port=desk_port,
    )
    for source, tables in counts.items():
        console.print(f"sample ERP {source}: " + ", ".join(f"{n:,} {t}" for t, n in tables.items()))
    console.print(f"({time.perf_counter() - started:.1f}s)")
    config = load_config(workdir / scenario.CONFIG_NAME)
    store = open_store(config.store_url(), config.store.timeouts)
    engine = SyncEngine(config, store)
    full: list[StreamResult] = []
    incremental: list[StreamResult] = []
    with scenario.servers(workdir, port, desk_port):
        console.print("\n[bold]1. full sync[/bold]")
        for source in scenario.SOURCES:
            full += engine.sync_source(source, progress=progress_printer(quiet))
        console.print(results_table("full sync", full))
        first = reconcile(store, config.reconcile)
        console.print(_reconciled("2. reconcile", first, store, workdir))

        changed = scenario.change(workdir, seed=seed, as_of=today)
        console.print("\n[bold]3. a day of back-office changes[/bold]")
        for source, what in changed.items():
            console.print(f"{source}: " + ", ".join(f"{n:,} {t}" for t, n in what.items()))
        console.print("\n[bold]4. incremental sync[/bold]")
        for source in scenario.SOURCES:
            incremental += engine.sync_source(source, progress=progress_printer(quiet))
        console.print(results_table("incremental sync", incremental))
        console.print(_deletes_found(incremental))
        second = reconcile(store, config.reconcile)
        console.print(_reconciled("5. reconcile, incrementally", second, store, workdir))
        console.print(_pushed_back(config, store, workdir, today))
    _summary(full, incremental, workdir / scenario.CONFIG_NAME)
    if any(r.status != "success" for r in full + incremental):
        raise typer.Exit(1)


def _pushed_back(config: HubConfig, store: Engine, workdir: Path, today: date) -> str:
    """Step 6: CRM-side changes written back, one of them meeting a back-office edit,
    then the pull that reads the hub's own writes back."""
    from crm_core.cli import demo_crm_side as crm_side
    from crm_core.pull.sync import SyncEngine
    from crm_core.pushback import submit
    from crm_core.pushback.deliver import push_back
    from sample_erps import scenario

    erp = scenario.erp_engine(workdir)
    try:
        story = crm_side.play(config, store, erp, today)
    finally:
        erp.dispose()
    pushed = push_back(config, store)
    engine = SyncEngine(config, store)
    pulled = [r for s in ("legacy_erp", "modern_erp") for r in engine.sync_source(s)]
    echoes = sum(int(r.counts.checks.get("echoes", 0)) for r in pulled)
    concession = submit.get_change(store, story.concession.change_id)
    phone = submit.get_change(store, story.phone.change_id)
    where = ", ".join(f"{t['target']} {t['state']}" for t in phone.targets)
    return (
        f"\n[bold]6. push-back[/bold]: {pushed.changes} CRM-side changes, {pushed.written} "
        f"writes, {pushed.conflicts} conflict; concession {concession.record_key} "
        f"(approved by {crm_side.MANAGER}) {concession.state} to legacy_erp; new phone of "
        f"{phone.golden_id}: {where} (the back office changed it to "
        f"{story.back_office_phone} meanwhile: crm-hub conflicts list); the next pull read "
        f"{echoes} of the hub's own writes back"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reconciled(title: str, result: dict[str, Any], store: Engine, workdir: Path) -> str:
    """What a reconcile run did, and how its clusters score against the demo's truth."""
    import polars as pl
    from sqlalchemy import select

    from crm_core.identity.scoring import pairwise_scores
    from crm_core.store.tables import source_links
    from sample_erps import scenario

    with store.connect() as conn:
        links = conn.execute(
            select(
                source_links.c.source, source_links.c.source_key, source_links.c.golden_id
            ).where(source_links.c.stream == "customers")
        ).all()
    clusters = pl.DataFrame(
        {
            "source": [r[0] for r in links],
            "customer_id": [r[1] for r in links],
            "cluster_id": [r[2] for r in links],
        },
        schema={"source": pl.Utf8, "customer_id": pl.Utf8, "cluster_id": pl.Utf8},
    )
    score = pairwise_scores(clusters, scenario.read_truth(workdir), key=["source", "customer_id"])
    return (
        f"\n[bold]{title}[/bold]: {result['records']:,} customer records, "
        f"{result['records_matched']:,} matched ({result['matching']}); golden customers: "
        f"{result['golden_created']:,} created, {result['golden_updated']:,} updated, "
        f"{result['golden_merged']:,} merged, {result.get('golden_retired', 0):,} retired, "
        f"{result['golden_total']:,} in all "
        f"({result['seconds']['total']:.1f}s); against the generator's truth: "
        f"precision {score.precision:.3f}, recall {score.recall:.3f}, F1 {score.f1:.3f}"
    )


def _deletes_found(results: list[StreamResult]) -> str:
    """How many deletes the incremental pass found, per stream that found any."""
    found = [r for r in results if r.counts.rows_deleted]
    total = sum(r.counts.rows_deleted for r in found)
    where = ", ".join(f"{r.source}.{r.stream} {r.counts.rows_deleted:,}" for r in found)
    looked = sum(1 for r in results if "deletes" in r.counts.checks)
    return (
        f"deletes found: {total:,}" + (f" ({where})" if where else "") + f"; {looked} stream(s) "
        "compared their keys with the source's (deletes: detect); the rows stay in the store, "
        "marked deleted"
    )


def _summary(full: list[StreamResult], incremental: list[StreamResult], config: Path) -> None:
    read_full = sum(r.counts.rows_read for r in full)
    read_inc = sum(r.counts.rows_read for r in incremental)
    secs_full = sum(r.seconds for r in full)
    secs_inc = sum(r.seconds for r in incremental)
    share = read_inc / read_full if read_full else 0.0
    console.print(
        f"\nfull: {read_full:,} rows in {secs_full:.2f}s ({read_full / max(secs_full, 1e-9):,.0f} "
        f"rows/s); incremental: {read_inc:,} rows in {secs_inc:.2f}s, "
        f"{share:.1%} of the full read"
    )
    console.print(
        f"next: crm-hub --config {config} status  (also: outbox list, conflicts list, serve)"
    )


def register(app: typer.Typer) -> None:
    """Add the demo command to the app."""
    app.command()(demo)
