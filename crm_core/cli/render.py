"""Tables and progress for the terminal (rich), and JSON for scripts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from schemas.exact_json import to_json

if TYPE_CHECKING:
    from crm_core.pull.sync import StreamResult

# Piped output (logs, CI, `| less`, a monitoring check): tables fit 160 columns rather
# than 80, and lines of text are never wrapped, so one message stays one line for grep.
PIPED_WIDTH = 160
console = Console()
err_console = Console(stderr=True)
for _c in (console, err_console):
    if not _c.is_terminal:
        if "COLUMNS" not in os.environ:  # an explicit COLUMNS is what rich uses
            _c.width = PIPED_WIDTH
        _c.soft_wrap = True
#: Errors in a table cell are cut to about this many characters (the ledger has them whole).
ERROR_IN_TABLE = 80


def shorten(text: str | None, limit: int = ERROR_IN_TABLE) -> str:
    """``text`` cut at the last word boundary before ``limit`` characters, with an ellipsis
    when anything was cut; whole when it fits."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


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
    """A rich table; columns named in ``numeric`` are right-aligned. An ``error`` column
    folds a long word (a URL) onto the next line rather than cropping it."""
    right = set(numeric)
    out = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        out.add_column(
            name,
            justify="right" if name in right else "left",
            overflow="fold" if name == "error" else "ellipsis",
        )
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
    colour = {
        "success": "green",
        "failed": "red",
        "running": "yellow",
        "interrupted": "red",
        "refused": "yellow",
    }.get(status, "white")
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
            f"{result.counts.rows_quarantined:,} quarantined"
            + (f", {result.counts.rows_deleted:,} deleted" if _deletes_known(result) else "")
            + f" in {result.seconds:.2f}s"
        )
        if result.error:
            err_console.print(f"   {result.error}", style="red", markup=False, highlight=False)

    return show


def _deletes_known(result: StreamResult) -> bool:
    """Whether the run looked for deletes (a detect pass) or found any (flags)."""
    return bool(result.counts.rows_deleted or result.counts.checks.get("deletes"))
