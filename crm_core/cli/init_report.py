"""What ``crm-hub init --from`` prints: the files written, what was proposed, what is left."""

from __future__ import annotations

from crm_core.cli.render import console, table
from crm_core.discovery import Written

KEY_NOTE = {"primary key": "", "unique index": " (unique index)", "guessed": " (guessed)"}


def print_discovery(written: Written) -> None:
    """The summary of a discovery: tables -> entities, keys, cursors, fields mapped / TODO."""
    rows = []
    for p in written.proposed:
        mapped = sum(1 for f in p.fields if f.columns is not None)
        rows.append(
            (
                p.table.name,
                p.entity.name,
                f"{p.confidence:.2f}",
                ", ".join(p.primary_key)
                + (
                    ""
                    if p.key_origin == "primary key"
                    else " (guessed)"
                    if p.key_origin == "guessed"
                    else " (unique index)"
                ),
                "+".join(p.cursor) or "- (full read)",
                str(mapped),
                str(p.todo),
                str(p.left_out),
            )
        )
    console.print(
        table(
            f"proposed streams of source {written.source.name}",
            [
                "table",
                "entity",
                "confidence",
                "primary key",
                "cursor",
                "mapped",
                "todo",
                "no column",
            ],
            rows,
            numeric=["confidence", "mapped", "todo", "no column"],
        )
    )
    for p in written.left_out:
        console.print(
            f"left out: {p.table.name} (best guess {p.entity.name}, confidence {p.confidence:.2f})",
            markup=False,
        )
    console.print(f"wrote {written.config}", markup=False, highlight=False)
    console.print(f"wrote {written.mapping}", markup=False, highlight=False)
    if written.source.url_env:
        console.print(
            "set the source's URL (with its real password) before 'crm-hub check' or 'sync':\n"
            f"  export {written.source.url_env}={written.source.masked_url}",
            markup=False,
            highlight=False,
        )
    todo = sum(p.todo for p in written.proposed)
    console.print(
        f"next: choose the {todo} field(s) marked TODO in {written.mapping.name}, then run "
        "'crm-hub check'"
        if todo
        else "next: review the mapping, then run 'crm-hub check'",
        markup=False,
        highlight=False,
    )
