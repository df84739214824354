"""``python -m bench scaling``: time and peak memory of a full sync against table size.

Memory must stay flat as the table grows (reads are batched and streamed) and time must
grow close to linearly; dlt into PostgreSQL is measured beside the hub at every size.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import extract, pgdata, report
from bench.measure import Measurement


def run(sizes: list[int], *, peers: bool = True, as_json: bool = False) -> dict[str, Any]:
    """Full syncs at each size; print a table, save JSON and a plot."""
    say = print if not as_json else (lambda *a, **k: print(*a, **k, file=sys.stderr))
    peers = peers and extract.peers_available()
    series: dict[str, list[Measurement]] = {"crm-hub -> PostgreSQL": []}
    if peers:
        series["dlt connectorx -> PostgreSQL"] = []
    for size in sizes:
        say(f"{size:,} order lines ...")
        pgdata.build_source(size)
        with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as tmp:
            work = Path(tmp)
            config = extract.hub_pg_config(work, 10_000)
            series["crm-hub -> PostgreSQL"].append(extract.hub_job(f"crm-hub {size:,}", config))
            if peers:
                pgdata.recreate_database(extract.DLT_DB)
                series["dlt connectorx -> PostgreSQL"].append(
                    extract.dlt_job(
                        f"dlt {size:,}", "postgres", extract.dlt_target(extract.DLT_DB), work
                    )
                )
    for label, points in series.items():
        say("")
        say(report.table(label, points))
    hub = series["crm-hub -> PostgreSQL"]
    figures = {
        "sizes": sizes,
        "hub_seconds": [round(m.seconds, 2) for m in hub],
        "hub_peak_mb": [round(m.peak_mb) for m in hub],
        "hub_memory_growth": round(hub[-1].peak_mb / hub[0].peak_mb, 2),
        "hub_time_per_row_growth": round(
            (hub[-1].seconds / hub[-1].rows) / (hub[0].seconds / hub[0].rows), 2
        ),
    }
    result = {
        "benchmark": "scaling",
        "machine": report.machine(),
        "figures": figures,
        "series": {k: [vars(m) for m in v] for k, v in series.items()},
    }
    saved = report.save("scaling", result)
    plot = report.scaling_chart("scaling", "full sync: time and peak memory by size", sizes, series)
    say(f"\nresults: {saved}, plot: {plot}")
    if as_json:
        print(json.dumps(figures))
    return result
