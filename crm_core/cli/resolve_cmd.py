"""``crm-hub resolve``: identity resolution on any CSV files of customer-like records.

Records are linked across the files and deduplicated within each, with the same rules
and model the hub uses on its store; OUT.csv gets ``source,record_id,cluster_id``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from crm_core.cli.render import console
from schemas.errors import ConfigError


def resolve(
    files: Annotated[
        list[Path], typer.Argument(help="CSV files with a header row (UTF-8).", show_default=False)
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write source,record_id,cluster_id.")
    ],
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column",
            help="The column that identifies a record in its file (default: the row number).",
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="ROLE=COLUMN when a column's name does not say its role, e.g. "
            "surname=nom_de_famille (roles: name, company, given_name, surname, kind, tax_id, "
            "email, phone, street_number, street, street2, city, postcode, region, country, "
            "date_of_birth).",
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Matching rules (YAML) instead of the built-in ones."),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option("--pairs", help="Also write every linked or reviewed pair to this CSV."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(help="Match probability from which the model links a pair.", min=0.0, max=1.0),
    ] = None,
    country: Annotated[
        str | None,
        typer.Option(
            "--country", help="Region of phones without one, e.g. CN (default: inferred)."
        ),
    ] = None,
) -> None:
    """Find the records that are the same customer in CSV files (across and within them)."""
    from crm_core.identity import columns, load_match_config
    from crm_core.identity import resolve as run

    started = time.perf_counter()
    config = load_match_config(rules, default_country=country)
    if threshold is not None:
        update = {"threshold": threshold}
        if config.review_threshold > threshold:
            update["review_threshold"] = threshold
        config = config.model_copy(update=update)
    try:
        overrides = columns.parse_overrides(column or [])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    names = _source_names(files)
    frames = []
    for path, source in zip(files, names, strict=True):
        frame, roles = _read(path, source, id_column, overrides)
        frames.append(frame)
        shown = ", ".join(f"{role}={col}" for role, col in roles.items())
        console.print(
            f"{path}: {frame.height:,} records as {source!r}; {shown or 'no known columns'}",
            markup=False,
            highlight=False,
        )
    records = pl.concat(frames, how="diagonal_relaxed")
    if records.is_empty():
        raise ConfigError("the files hold no records")
    result = run(records, config=config)
    clusters = result.clusters
    numbers = (
        clusters.select("cluster_id").unique(maintain_order=True).with_row_index("number", offset=1)
    )
    out = clusters.join(numbers, on="cluster_id", how="left", maintain_order="left").select(
        "source", pl.col("customer_id").alias("record_id"), pl.col("number").alias("cluster_id")
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    out.write_csv(output)
    if pairs is not None:
        pairs.parent.mkdir(parents=True, exist_ok=True)
        result.pairs.rename(
            {"customer_id_l": "record_id_l", "customer_id_r": "record_id_r"}
        ).write_csv(pairs)
    linked = result.pairs.filter("is_match")
    by_rule = linked.group_by("decided_by").len().sort("len", descending=True)
    clustered = out.group_by("cluster_id").len().filter(pl.col("len") > 1)
    console.print(
        f"{out.height:,} records -> {numbers.height:,} customers; "
        f"{int(clustered['len'].sum() or 0):,} records in {clustered.height:,} groups "
        "of 2 or more; "
        f"{linked.height:,} linked pairs ("
        + ", ".join(f"{r}: {n:,}" for r, n in by_rule.iter_rows())
        + f"); {time.perf_counter() - started:.1f}s",
        markup=False,
        highlight=False,
    )
    console.print(f"wrote {output}" + (f" and {pairs}" if pairs else ""), markup=False)


def _source_names(files: list[Path]) -> list[str]:
    stems = [f.stem for f in files]
    return [str(f) if stems.count(f.stem) > 1 else f.stem for f in files]


def _read(
    path: Path, source: str, id_column: str | None, overrides: dict[str, str]
) -> tuple[pl.DataFrame, dict[str, str]]:
    from crm_core.identity import columns

    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        raw = pl.read_csv(
            path, infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ConfigError(f"{path}: cannot be read as CSV: {str(exc).splitlines()[0]}") from None
    raw = raw.rename({c: c.strip() for c in raw.columns}).with_columns(
        pl.all().str.strip_chars().replace("", None)
    )
    if id_column is not None and id_column not in raw.columns:
        raise ConfigError(
            f"{path}: no id column {id_column!r}; columns are: {', '.join(raw.columns)}"
        )
    headers = [c for c in raw.columns if c != id_column]
    try:
        roles = columns.recognise(headers, overrides)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    ids = (
        raw.get_column(id_column)
        if id_column is not None
        else pl.int_range(1, raw.height + 1, eager=True).cast(pl.String)
    )
    frame = raw.select([pl.col(col).alias(role) for role, col in roles.items()]).with_columns(
        source=pl.lit(source), customer_id=ids
    )
    missing = frame.get_column("customer_id").null_count()
    if missing:
        raise ConfigError(f"{path}: {missing} record(s) have no {id_column}")
    return frame, roles


def register(app: typer.Typer) -> None:
    """Add the resolve command to the app."""
    app.command()(resolve)
