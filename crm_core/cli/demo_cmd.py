"""``crm-hub demo``: a sample ERP, a full sync, a day of changes, an incremental sync."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from crm_core.cli.render import console, progress_printer, results_table
from crm_core.store.db import open_store
from crm_core.sync import StreamResult, SyncEngine
from schemas.settings import load_config


def demo(
    workdir: Annotated[
        Path, typer.Option("--workdir", "-w", help="Folder for the sample ERP, config and store.")
    ] = Path("crm-hub-demo"),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 42,
    customers: Annotated[int, typer.Option(help="Customers in the sample ERP.", min=10)] = 3000,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The demo's today, YYYY-MM-DD (default: today).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary.")] = False,
) -> None:
    """Create a sample legacy ERP, sync it in full, change it, and sync incrementally."""
    from crm_core.demo import scenario  # the generator loads only for the demo

    today = date.fromisoformat(as_of) if as_of else date.today()
    workdir = workdir.resolve()
    console.print(f"[bold]crm-hub demo[/bold] in {workdir} (seed {seed}, as of {today})")
    started = time.perf_counter()
    counts = scenario.prepare(
        workdir, seed=seed, customers=customers, as_of=today - timedelta(days=1)
    )
    console.print(
        "sample ERP legacy_erp.db: "
        + ", ".join(f"{n:,} {t}" for t, n in counts.items())
        + f" ({time.perf_counter() - started:.1f}s)"
    )
    config = load_config(workdir / scenario.CONFIG_NAME)
    engine = SyncEngine(config, open_store(config.store_url()))

    console.print("\n[bold]1. full sync[/bold]")
    full = engine.sync_source(scenario.SOURCE, progress=progress_printer(quiet))
    console.print(results_table("full sync", full))

    changed = scenario.change(workdir, seed=seed, as_of=today)
    console.print(
        "\n[bold]2. a day of back-office changes[/bold]: "
        + ", ".join(f"{n:,} {t}" for t, n in changed.items())
    )
    console.print("\n[bold]3. incremental sync[/bold]")
    incremental = engine.sync_source(scenario.SOURCE, progress=progress_printer(quiet))
    console.print(results_table("incremental sync", incremental))
    _summary(full, incremental, workdir / scenario.CONFIG_NAME)
    if any(r.status != "success" for r in full + incremental):
        raise typer.Exit(1)


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
    console.print(f"next: crm-hub --config {config} status")


def register(app: typer.Typer) -> None:
    """Add the demo command to the app."""
    app.command()(demo)
