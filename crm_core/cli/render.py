"""Tables and progress for the terminal (rich), and JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from crm_core.pull.sync import StreamResult
from schemas.exact_json import to_json

# Piped output (logs, CI, `| less`) is not cut at 80 columns.
PIPED_WIDTH = 160
console = Console()
err_console = Console(stderr=True)
for _c in (console, err_console):
    if not _c.is_terminal:
        _c.width = PIPED_WIDTH


def print_json(data: Any) -> None:
    """Print JSON (timestamps as ISO 8601) on stdout, nothing else."""
    print(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2))


def _json_default(value: Any) -> str:
    try:
        return to_json(value)
    except TypeError:
        return str(value)  # printing never fails on a value JSON has no type for


def table(
    title: str, columns: Sequence[str], rows: Iterable[Iterable[Any]], numeric: Iterable[str] = ()
) -> Table:
    """A rich table; columns named in ``numeric`` are right-aligned."""
    right = set(numeric)
    out = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        out.add_column(name, justify="right" if name in right else "left")
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    return out


def results_table(title: str, results: Sequence[StreamResult]) -> Table:
    """What a sync did, one row per stream."""
    return table(
        title,
        [
            "source",
            "stream",
            "mode",
            "status",
            "read",
            "loaded",
            "quarantined",
            "seconds",
            "rows/s",
        ],
        (
            (
                r.source,
                r.stream,
                r.mode,
                _status(r.status),
                f"{r.counts.rows_read:,}",
                f"{r.counts.rows_loaded:,}",
                f"{r.counts.rows_quarantined:,}",
                f"{r.seconds:.2f}",
                f"{r.rows_per_second:,.0f}",
            )
            for r in results
        ),
        numeric=("read", "loaded", "quarantined", "seconds", "rows/s"),
    )


def _status(status: str) -> str:
    colour = {"success": "green", "failed": "red", "running": "yellow", "interrupted": "red"}.get(
        status, "white"
    )
    return f"[{colour}]{status}[/{colour}]"


def progress_printer(quiet: bool = False) -> Any:
    """A progress callback that prints a line per finished stream and a live row count."""
    status = None if quiet else console.status("")

    def show(result: StreamResult) -> None:
        if quiet or status is None:
            return
        if result.status == "running":
            status.update(
                f"{result.source}.{result.stream}: {result.counts.rows_read:,} rows read, "
                f"{result.counts.rows_quarantined:,} quarantined"
            )
            status.start()
            return
        status.stop()
        mark = "[green]ok[/green]" if result.status == "success" else "[red]FAILED[/red]"
        console.print(
            f"{mark} {result.source}.{result.stream} ({result.mode}): "
            f"{result.counts.rows_read:,} read, {result.counts.rows_loaded:,} loaded, "
            f"{result.counts.rows_quarantined:,} quarantined in {result.seconds:.2f}s"
        )
        if result.error:
            err_console.print(f"   {result.error}", style="red", markup=False, highlight=False)

    return show
