"""``python -m bench docs``: write docs/benchmarks.md from the results in bench/results/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.measure import ROOT
from bench.report import RESULTS

DOC = ROOT / "docs" / "benchmarks.md"

INTRO = """\
# Benchmarks

Written by `python -m bench docs` from the JSON in `bench/results/`; every figure below was
measured in one run, on the machine named under it, with its peers beside it. Re-run with
`make bench-env` (once: the peers' own environment), then `python -m bench extract` and
`python -m bench scaling`, then `python -m bench docs`.

The peer is dlt (`sql_table`, backend `connectorx`, the fastest dlt offers), installed only in
`.venv-bench`, never as a dependency of crm-hub. The ceiling is the bare driver: psycopg's
`fetchmany(10000)` on a server-side cursor (and `COPY ... TO STDOUT` for reference). The
hub's figure is a full `crm-hub sync` as a user runs it: read, mapping, checks, bulk load
into its store, watermark and run ledger in the same transactions.
"""


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _latest_extract() -> dict[str, Any] | None:
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in RESULTS.glob("extract-*.json")]
    return max(runs, key=lambda r: r["figures"]["rows"]) if runs else None


def _machine(result: dict[str, Any]) -> str:
    m = result["machine"]
    return (
        f"Measured {m['when']} on {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, "
        f"PostgreSQL {m['postgresql']} on loopback; crm-hub {m['crm_hub']}, SQLAlchemy "
        f"{m['sqlalchemy']}, polars {m['polars']}, psycopg {m['psycopg']}."
    )


def _extract(result: dict[str, Any]) -> str:
    f = result["figures"]
    driver = f["driver_rows_per_s"]
    lines = [
        f"## Extract and load: {f['rows']:,} order lines, PostgreSQL source",
        "",
        "| job | rows | seconds | rows/s | peak MB | vs driver | vs dlt |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in result["measurements"]:
        speed = m["rows"] / m["seconds"] if m["seconds"] else 0
        vs_dlt = f"{speed / f['dlt_rows_per_s']:.2f}x" if f.get("dlt_rows_per_s") else "-"
        lines.append(
            f"| {m['name']} | {m['rows']:,} | {m['seconds']:.2f} | {speed:,.0f} | "
            f"{m['peak_mb']:,.0f} | {speed / driver:.2f}x | {vs_dlt} |"
        )
    lines += [
        "",
        f"- crm-hub / dlt: **{f['hub_vs_dlt']}x** (target: at least 1x, aiming at 2x)",
        f"- crm-hub / bare driver read: **{f['hub_vs_driver']}x** (target: at least 0.25x, "
        "aiming at 0.5x)",
        f"- incremental sync after 1% of the rows changed: {f['incremental_rows']:,} rows in "
        f"{f['incremental_seconds']} s, **{f['incremental_vs_full']:.1%}** of the full sync's "
        f"time (target below 5%); with no change: {f['noop_seconds']} s",
        f"- contract checks (great-expectations, every batch): {f.get('contract_seconds', '-')} s "
        f"of the full sync, **{f.get('contract_share', 0):.0%}** (target below 20%); they run "
        "in the reader thread, beside the load",
        "",
        _machine(result),
        "",
        f"![extract](../bench/results/extract-{f['rows']}.png)",
        "",
    ]
    return "\n".join(lines)


def _scaling(result: dict[str, Any]) -> str:
    lines = [
        "## Scaling: full sync time and peak memory by table size",
        "",
        "| job | rows | seconds | rows/s | peak MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for points in result["series"].values():
        for m in points:
            speed = m["rows"] / m["seconds"] if m["seconds"] else 0
            lines.append(
                f"| {m['name']} | {m['rows']:,} | {m['seconds']:.2f} | {speed:,.0f} | "
                f"{m['peak_mb']:,.0f} |"
            )
    f = result["figures"]
    lines += [
        "",
        f"- crm-hub peak memory, largest over smallest size: {f['hub_memory_growth']}x "
        "(flat: reads are batched and streamed)",
        f"- crm-hub time per row, largest over smallest size: {f['hub_time_per_row_growth']}x "
        "(below 1: fixed start-up costs spread over more rows)",
        "",
        _machine(result),
        "",
        "![scaling](../bench/results/scaling.png)",
        "",
    ]
    return "\n".join(lines)


def _connectors(result: dict[str, Any]) -> str:
    rows = result["figures"]["rows"]
    lines = [
        f"## Connector reads: {rows:,} order lines, each against its bare driver",
        "",
        "| job | rows | seconds | rows/s | peak MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for m in result["measurements"]:
        speed = m["rows"] / m["seconds"] if m["seconds"] else 0
        lines.append(
            f"| {m['name']} | {m['rows']:,} | {m['seconds']:.2f} | {speed:,.0f} | "
            f"{m['peak_mb']:,.0f} |"
        )
    lines.append("")
    for p in result["figures"]["pairs"]:
        lines.append(f"- {p['database']}: **{p['ratio']:.2f}x** (target at least 0.5x)")
    lines += [
        "",
        _machine(result),
        "",
        f"![connectors](../bench/results/connectors-{rows}.png)",
        "",
    ]
    return "\n".join(lines)


def _matching(result: dict[str, Any]) -> str:
    f = result["figures"]
    lines = [
        "## Identity resolution: FEBRL4 and generated customers",
        "",
        f"- FEBRL4 (5,000 + 5,000 records, `soc_sec_id` left out), `crm-hub resolve`: precision "
        f"{f['febrl4_precision']}, recall {f['febrl4_recall']}, **F1 {f['febrl4_f1']}** "
        f"(target at least 0.99); a plain Splink model in the same run: F1 {f['splink_plain_f1']}",
        "",
        "| job | records | seconds | peak MB |",
        "|---|---:|---:|---:|",
    ]
    for m in result["measurements"]:
        lines.append(f"| {m['name']} | {m['rows']:,} | {m['seconds']:.1f} | {m['peak_mb']:,.0f} |")
    sizes = ", ".join(
        f"{n:,}: F1 {f1}" for n, f1 in zip(f.get("sizes", []), f.get("f1", []), strict=False)
    )
    lines += [
        "",
        f"- generated customers with known truth ({sizes}); time per record, largest over "
        f"smallest size: {f.get('time_per_record_growth')}x",
        "",
        _machine(result),
        "",
        "![matching](../bench/results/matching.png)",
        "",
    ]
    return "\n".join(lines)


def write() -> Path:
    """Write docs/benchmarks.md; return its path."""
    parts = [INTRO]
    extract = _latest_extract()
    if extract:
        parts.append(_extract(extract))
    scaling = _load("scaling")
    if scaling:
        parts.append(_scaling(scaling))
    matching = _load("matching")
    if matching:
        parts.append(_matching(matching))
    connectors = [
        json.loads(p.read_text(encoding="utf-8")) for p in RESULTS.glob("connectors-*.json")
    ]
    if connectors:
        parts.append(_connectors(max(connectors, key=lambda r: r["figures"]["rows"])))
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(parts), encoding="utf-8")
    return DOC
