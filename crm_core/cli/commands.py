"""The everyday commands: init, check, sync, status.

What a command needs beyond the command line (the store, the sync engine, the ledger,
the connectors) it imports when it runs, so that ``crm-hub --help`` loads none of it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crm_core.cli import ops_cmd
from crm_core.cli.context import (
    ConfigOption,
    open_config,
    open_config_and_store,
    resolve_config_path,
)
from crm_core.cli.render import (
    console,
    print_json,
    progress_printer,
    results_table,
    shorten,
    table,
)
from crm_core.cli.starter import STARTER_CONFIG
from schemas.errors import ConfigError, HubError

#: a finished run's status (crm_core.ledger.runs.SUCCESS, which loads SQLAlchemy)
SUCCESS = "success"


def init(
    ctx: typer.Context,
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Propose streams and a mapping from this source: a database URL, an "
            "odbc:// URL, or an OpenAPI document (file or URL).",
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="The source's name (with --from).")
    ] = None,
    schema: Annotated[
        str | None, typer.Option("--schema", help="The database schema to read (with --from).")
    ] = None,
) -> None:
    """Write a starter config file to edit (./crm-hub.yaml unless --config says otherwise);
    with --from, a config and a mapping proposed from the source's catalogue."""
    path = resolve_config_path(ctx, config)
    if from_:
        from crm_core.cli.init_report import print_discovery
        from crm_core.discovery import init_from

        print_discovery(init_from(from_, path.absolute(), source, schema, force))
        return
    if path.exists() and not force:
        raise ConfigError(f"{path} exists already; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    console.print(f"wrote {path}: declare your sources there, then run 'crm-hub check'")


def check(
    ctx: typer.Context,
    config: ConfigOption = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Check the config and mapping files only: connect to no store and no source.",
        ),
    ] = False,
) -> None:
    """Validate the config and mappings, then connect to the store and every source and hold
    each mapping against the columns and types the source has now.

    Nothing is created or written: not the store (a SQLite file that does not exist stays
    so), not its tables. Every problem is reported at once, with file and line where it has
    one; a mapped column the source lacks is told apart as a typo (with the closest column
    the source has) or as drift (the last run saw it).
    """
    from connectors import source_option_problems
    from crm_core.pull.source_check import check_source
    from crm_core.pull.stream_columns import unmapped_streams
    from crm_core.store.db import probe_store, read_only_store
    from mappings import load_mapping
    from schemas.settings import redact_url
    from schemas.yamlfile import located

    cfg = open_config(ctx, config)
    problems: list[str] = []
    ledger = None
    if not offline:
        try:
            state = probe_store(cfg.store_url())
            console.print(f"[green]ok[/green] store {redact_url(cfg.store_url())} ({state})")
            ledger = read_only_store(cfg.store_url())
        except HubError as exc:
            problems.append(str(exc))
    try:
        for name, source_cfg in cfg.sources.items():
            try:
                found = [
                    located(cfg.path, ["sources", name, *loc], reason) if cfg.path else reason
                    for loc, reason in source_option_problems(source_cfg)
                ]
                mapping = load_mapping(source_cfg.mapping)
                found += unmapped_streams(cfg, name, mapping.streams, source_cfg.streams)
                if not found and not offline:
                    found = check_source(cfg, name, mapping, ledger)
                if found:
                    problems += found
                    continue
                console.print(
                    f"[green]ok[/green] source {name} ({source_cfg.kind}, "
                    f"{len(source_cfg.streams)} streams{', not connected' if offline else ''})"
                )
                for stream_name, stream_cfg in source_cfg.streams.items():
                    console.print(
                        f"   {name}.{stream_name}: deletes {stream_cfg.deletes.describe()}",
                        markup=False,
                        highlight=False,
                    )
            except HubError as exc:
                problems.append(str(exc))
    finally:
        if ledger is not None:
            ledger.dispose()
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) found:", problems)
    console.print("all checks passed")


def sync(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Argument(help="Source to sync (default: all).")] = None,
    stream: Annotated[
        list[str] | None, typer.Option("--stream", "-s", help="Only this stream (repeatable).")
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Ignore saved positions and read everything.")
    ] = False,
    detect_deletes: Annotated[
        bool,
        typer.Option(
            "--detect-deletes",
            help="Run a detect pass of deletes now on the streams with deletes: detect.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    config: ConfigOption = None,
) -> None:
    """Pull streams from the back office into the store (incremental unless --full-refresh)."""
    from crm_core.ledger import runs
    from crm_core.pull.sync import SyncEngine
    from crm_core.store.db import open_store

    cfg = open_config(ctx, config)
    names = [source] if source else list(cfg.sources)
    if not names:
        raise ConfigError(f"{cfg.path} declares no sources")
    if stream and len(names) != 1:
        raise ConfigError("--stream needs a SOURCE")
    missing = cfg.environment_problems(names)  # all at once, not one run at a time
    if missing:
        raise ConfigError(f"{len(missing)} problem(s) found:", missing)
    store = open_store(cfg.store_url())
    engine = SyncEngine(cfg, store)
    results = []
    for name in names:
        results += engine.sync_source(
            name, stream, full_refresh, progress_printer(quiet), detect_deletes
        )
    if not quiet:
        console.print(results_table("sync", results))
    failed = [r for r in results if r.status != runs.SUCCESS]
    if failed:
        raise typer.Exit(1)


def status(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Every run as JSON (newest first).")
    ] = False,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs in --json.")] = 1000,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Check health instead: exit 1 if a stream failed its last runs or is late.",
        ),
    ] = False,
    failures: ops_cmd.FailuresOption = 3,
    grace: ops_cmd.GraceOption = 0,
    config: ConfigOption = None,
) -> None:
    """Show the run ledger: the last run of each stream (or every run with --json)."""
    from crm_core.ledger import health, runs
    from crm_core.pull import state

    cfg, store = open_config_and_store(ctx, config)
    if check:
        ops_cmd.report_health(cfg, store, failures, grace, as_json)
        return
    if as_json:
        print_json([health.run_json(r) for r in runs.list_runs(store, source=source, limit=limit)])
        return
    last = runs.list_runs(store, source=source, last_only=True)
    if not last:
        console.print("no runs yet: run 'crm-hub sync'")
        return
    rows = sorted(last, key=lambda r: (r["source"], r["id"]))
    held = sum(r["rows_quarantined"] for r in rows)
    with store.connect() as conn:
        saved = {
            (r["source"], r["stream"]): state.get_position(conn, r["source"], r["stream"])
            for r in rows
        }
    console.print(
        table(
            "last run per stream",
            [
                "source",
                "stream",
                "mode",
                "status",
                "finished",
                "seconds",
                "read",
                "loaded",
                "quarantined",
                "deleted",
                "contract",
                "watermark",
                "error",
            ],
            (
                (
                    r["source"],
                    r["stream"],
                    r["mode"],
                    r["status"],
                    r["finished_at"].strftime("%Y-%m-%d %H:%M:%S") if r["finished_at"] else "-",
                    ops_cmd.seconds_text(health.duration_seconds(r)),
                    f"{r['rows_read']:,}",
                    f"{r['rows_loaded']:,}",
                    _quarantined_text(r["rows_quarantined"]),
                    f"{r['rows_deleted']:,}",
                    contract_summary(r.get("checks"), r["status"]),
                    _watermark_text(r["watermark"], saved[(r["source"], r["stream"])]),
                    shorten(r["error"]),
                )
                for r in rows
            ),
            numeric=("seconds", "read", "loaded", "quarantined", "deleted"),
        )
    )
    if held:
        console.print(
            f"[yellow]![/yellow] {held:,} row(s) held back by the last runs: "
            "'crm-hub quarantine list' shows them and why"
        )


def _quarantined_text(n: int) -> str:
    """The quarantined count, marked when a run held anything back."""
    return f"[yellow]{n:,} ![/yellow]" if n else "0"


def _watermark_text(watermark: list[dict[str, Any]] | None, saved: tuple[Any, ...] | None) -> str:
    """The run's watermark; for a run that moved none (it read nothing, or failed before
    its first batch), the stream's saved position, which it left as it was."""
    from crm_core.pull import positions

    if watermark:
        return positions.describe(positions.decode(watermark))
    if saved is None:
        return "-"
    return f"{positions.describe(saved)} (unchanged)"


def contract_summary(checks: dict[str, Any] | None, status: str = SUCCESS) -> str:
    """A run's contract outcome in a few words: its name, failures, schema drift. Only a
    finished run's contract is "ok"; a failed run's shows its failures, or "-"."""
    if not checks:
        return "-"
    parts = []
    if "contract" in checks:
        failed = sum(checks.get("failed", {}).values())
        if failed:
            parts.append(f"{checks['contract']}: {failed:,} failed")
        elif status == SUCCESS:
            parts.append(f"{checks['contract']}: ok")
    drift = checks.get("schema_drift")
    if drift:
        parts.append(
            "drift "
            + " ".join(
                [f"+{c}" for c in drift.get("added", [])]
                + [f"-{c}" for c in drift.get("removed", [])]
            )
        )
    return "; ".join(parts) or "-"


def register(app: typer.Typer) -> None:
    """Add these commands to the app."""
    for fn in (init, check, sync, status):
        app.command()(fn)
