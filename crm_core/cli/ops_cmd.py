"""Commands for ops: run history, the health check behind ``status --check``, metrics.

The ledger's modules (SQLAlchemy) load inside the commands, not with the command line.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from crm_core.cli.context import ConfigOption, open_config_and_store
from crm_core.cli.render import console, err_console, print_json, shorten, table

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from schemas.settings import HubConfig

FailuresOption = Annotated[
    int,
    typer.Option("--failures", help="A stream whose last N runs all failed is unhealthy.", min=1),
]
GraceOption = Annotated[
    int, typer.Option("--grace", help="Minutes a stream may be late beyond its schedule.", min=0)
]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def seconds_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def runs_cmd(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    stream: Annotated[str | None, typer.Option("--stream", help="Only this stream.")] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Only runs with this status: success, failed, running, interrupted, refused.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many runs.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Runs as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Show the run history, newest first: counts, duration, watermark, error."""
    from crm_core.ledger import health, runs
    from crm_core.pull import positions

    known = (runs.SUCCESS, runs.FAILED, runs.RUNNING, runs.INTERRUPTED_STATUS, runs.REFUSED)
    if status and status not in known:
        err_console.print(
            f"crm-hub: --status {status!r}: use success, failed or running "
            "(or interrupted, refused)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2)
    _cfg, store = open_config_and_store(ctx, config)
    rows = health.history(store, source=source, stream=stream, status=status, limit=limit)
    if as_json:
        print_json([health.run_json(r) for r in rows])
        return
    if not rows:
        console.print("no runs match")
        return
    console.print(
        table(
            "runs, newest first",
            [
                "run",
                "source",
                "stream",
                "mode",
                "status",
                "started",
                "seconds",
                "read",
                "loaded",
                "quarantined",
                "deleted",
                "watermark",
                "error",
            ],
            (
                (
                    r["id"],
                    r["source"],
                    r["stream"],
                    r["mode"],
                    r["status"],
                    _when(r["started_at"]),
                    seconds_text(health.duration_seconds(r)),
                    f"{r['rows_read']:,}",
                    f"{r['rows_loaded']:,}",
                    f"{r['rows_quarantined']:,}",
                    f"{r['rows_deleted']:,}",
                    positions.describe(positions.decode(r["watermark"])),
                    shorten(r["error"]),
                )
                for r in rows
            ),
            numeric=("run", "seconds", "read", "loaded", "quarantined", "deleted"),
        )
    )


def metrics_cmd(
    ctx: typer.Context, failures: FailuresOption = 3, config: ConfigOption = None
) -> None:
    """Print run metrics in the Prometheus text format (for a textfile collector or a scrape)."""
    from crm_core.ledger import metrics

    cfg, store = open_config_and_store(ctx, config)
    print(metrics.prometheus_text(cfg, store, failures), end="")


def report_health(cfg: HubConfig, store: Engine, failures: int, grace: int, as_json: bool) -> None:
    """Print the health of every stream; exit 1 when any has a problem (a monitoring check)."""
    from crm_core.ledger import health

    report = health.health(cfg, store, failures=failures, grace=timedelta(minutes=grace))
    bad = [h for h in report if not h.ok]
    if as_json:
        print_json(
            [
                {
                    "source": h.source,
                    "stream": h.stream,
                    "ok": h.ok,
                    "schedule": h.schedule,
                    "last_status": h.last_status,
                    "last_success_at": h.last_success_at,
                    "consecutive_failures": h.consecutive_failures,
                    "late": h.late,
                    "retrying": h.retrying,
                    "problems": h.problems,
                }
                for h in report
            ]
        )
    elif bad:
        for h in bad:
            for problem in h.problems:
                err_console.print(
                    f"CRITICAL {h.source}.{h.stream}: {problem}", markup=False, highlight=False
                )
    else:
        console.print(f"OK: {len(report)} stream(s) healthy")
    if not as_json:
        for h in report:
            if h.retrying and h.ok:
                console.print(f"{h.source}.{h.stream}: {h.retrying}", markup=False)
    if bad:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add these commands to the app."""
    app.command("runs")(runs_cmd)
    app.command("metrics")(metrics_cmd)
