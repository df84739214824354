"""``crm-hub quarantine list|show|replay|discard``: work through the rows held back.

The quarantine's store module and the sync engine load inside the commands.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from crm_core.cli.context import ConfigOption, open_config_and_store
from crm_core.cli.render import console, print_json, table
from crm_core.pull import quarantine_states as states
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from crm_core.pull import quarantine_review as review

app = typer.Typer(
    help="Rows held back by the mapping or a contract: list, show, replay after a fix, "
    "or discard with a note. Nothing is ever deleted.",
    no_args_is_help=True,
)

SourceOpt = Annotated[str | None, typer.Option("--source", help="Only this source.")]
StreamOpt = Annotated[str | None, typer.Option("--stream", help="Only this stream.")]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Only rows whose reason contains this text.")
]
RunOpt = Annotated[int | None, typer.Option("--run", help="Only rows held by this run.")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who does this (default: the login name).")]
IdsArg = Annotated[list[int] | None, typer.Argument(help="Row ids (see 'quarantine list').")]


def _filters(
    ids: list[int] | None,
    source: str | None,
    stream: str | None,
    reason: str | None,
    run: int | None,
    status: str | None = states.OPEN,
) -> review.Filters:
    from crm_core.pull import quarantine_review as review

    return review.Filters(tuple(ids or ()), source, stream, status, reason, run)


@app.command("list")
def list_(
    ctx: typer.Context,
    source: SourceOpt = None,
    stream: StreamOpt = None,
    reason: ReasonOpt = None,
    run: RunOpt = None,
    status: Annotated[
        str,
        typer.Option(help=f"One of {', '.join(states.STATUSES)}, or all."),
    ] = states.OPEN,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    config: ConfigOption = None,
) -> None:
    """List quarantined rows, newest first (open ones unless --status says otherwise)."""
    from crm_core.pull import quarantine_review as review

    if status != "all" and status not in states.STATUSES:
        raise ConfigError(f"--status must be one of {', '.join(states.STATUSES)} or all")
    _cfg, store = open_config_and_store(ctx, config)
    filters = _filters(None, source, stream, reason, run, None if status == "all" else status)
    rows = review.list_rows(store, filters, limit)
    if as_json:
        print_json(rows)
        return
    counts = review.count_by_status(store, filters)
    if not rows:
        held = ", ".join(f"{n:,} {s}" for s, n in sorted(counts.items()))
        console.print(f"no {status} rows match" + (f" (in all: {held})" if held else ""))
        return
    console.print(
        table(
            "quarantine",
            ["id", "source", "stream", "key", "status", "held", "reason"],
            (
                [
                    str(r["id"]),
                    r["source"],
                    r["stream"],
                    r["record_key"] or "",
                    r["status"],
                    r["created_at"].strftime("%Y-%m-%d %H:%M"),
                    r["reason"][:120],
                ]
                for r in rows
            ),
        )
    )
    summary = ", ".join(f"{n:,} {s}" for s, n in sorted(counts.items())) or "nothing held"
    console.print(f"{summary}; showing {len(rows)}")


@app.command()
def show(
    ctx: typer.Context,
    row_id: Annotated[int, typer.Argument(help="The row's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    config: ConfigOption = None,
) -> None:
    """Show one quarantined row whole: its raw values as the source gave them, and why."""
    from crm_core.pull import quarantine_review as review

    _cfg, store = open_config_and_store(ctx, config)
    row = review.get_row(store, row_id)
    if as_json:
        print_json(row)
        return
    for key in ("id", "source", "stream", "record_key", "status", "run_id", "created_at"):
        console.print(f"[bold]{key}[/bold]: {row[key]}")
    console.print(f"[bold]reason[/bold]: {row['reason']}")
    if row["resolved_at"]:
        console.print(f"[bold]resolved[/bold]: {row['resolved_at']} by {row['resolved_by']}")
    console.print("[bold]raw[/bold]:")
    console.print(json.dumps(row["raw"], ensure_ascii=False, indent=2), markup=False)


@app.command()
def replay(
    ctx: typer.Context,
    ids: IdsArg = None,
    source: SourceOpt = None,
    stream: StreamOpt = None,
    reason: ReasonOpt = None,
    run: RunOpt = None,
    every: Annotated[bool, typer.Option("--all", help="Every open row.")] = False,
    by: ByOpt = None,
    config: ConfigOption = None,
) -> None:
    """Re-run the current mapping and contract on held rows (after fixing either).

    Rows that pass are loaded and marked replayed; rows a newer version of the same record
    has overtaken are marked superseded, not loaded; the rest stay open with their reason.
    """
    from crm_core.pull import quarantine_review as review
    from crm_core.pull.sync import SyncEngine

    filters = _filters(ids, source, stream, reason, run)
    if not (every or ids or source or stream or reason or run is not None):
        raise ConfigError("say which rows: ids, --source/--stream/--reason/--run, or --all")
    cfg, store = open_config_and_store(ctx, config)
    results = review.replay(SyncEngine(cfg, store), filters, by)
    if not results:
        console.print("no open rows match")
        return
    for r in results:
        console.print(
            f"{r.source}.{r.stream}: {r.replayed:,} replayed, {r.superseded:,} superseded, "
            f"{r.still_failing:,} still failing (run {r.run_id})"
        )
        for qid, why in list(r.reasons.items())[:5]:
            console.print(f"  {qid}: {why}", markup=False)
    if any(r.still_failing for r in results):
        raise typer.Exit(1)


@app.command()
def discard(
    ctx: typer.Context,
    ids: IdsArg = None,
    note: Annotated[str, typer.Option("--note", help="Why (kept with the rows).")] = "",
    source: SourceOpt = None,
    stream: StreamOpt = None,
    reason: ReasonOpt = None,
    run: RunOpt = None,
    by: ByOpt = None,
    config: ConfigOption = None,
) -> None:
    """Mark held rows as discarded, with who and why; they stay on record."""
    from crm_core.pull import quarantine_review as review

    if not (ids or source or stream or reason or run is not None):
        raise ConfigError("say which rows: ids, or --source/--stream/--reason/--run")
    _cfg, store = open_config_and_store(ctx, config)
    done = review.discard(store, _filters(ids, source, stream, reason, run), note, by)
    console.print(f"discarded {done:,} row(s)")


def register(root: typer.Typer) -> None:
    """Add the quarantine commands to the app."""
    root.add_typer(app, name="quarantine")
