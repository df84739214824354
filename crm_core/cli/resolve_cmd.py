"""``crm-hub resolve``: identity resolution on any CSV files of customer-like records.

Records are linked across the files and deduplicated within each, with the same rules
and model the hub uses on its store (:mod:`crm_core.identity.csv_files`); OUT.csv gets
``source,record_id,cluster_id``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crm_core.cli.render import console


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
    from crm_core.identity.csv_files import ReadFile, resolve_files

    def shown(read: ReadFile) -> None:
        roles = ", ".join(f"{role}={col}" for role, col in read.roles.items())
        console.print(
            f"{read.path}: {read.records:,} records as {read.source!r}; "
            f"{roles or 'no known columns'}",
            markup=False,
            highlight=False,
        )

    found = resolve_files(
        files,
        output,
        pairs_output=pairs,
        id_column=id_column,
        column_overrides=column or [],
        rules=rules,
        threshold=threshold,
        default_country=country,
        on_read=shown,
    )
    console.print(
        f"{found.records:,} records -> {found.customers:,} customers; "
        f"{found.grouped_records:,} records in {found.groups:,} groups of 2 or more; "
        f"{found.linked_pairs:,} linked pairs ("
        + ", ".join(f"{rule}: {n:,}" for rule, n in found.linked_by_rule)
        + f"); {found.seconds:.1f}s",
        markup=False,
        highlight=False,
    )
    console.print(f"wrote {output}" + (f" and {pairs}" if pairs else ""), markup=False)


def register(app: typer.Typer) -> None:
    """Add the resolve command to the app."""
    app.command()(resolve)
