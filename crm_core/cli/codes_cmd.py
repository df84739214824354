"""``crm-hub codes unmapped``: source codes the mappings' crosswalks do not translate."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_core.cli.context import ConfigOption, open_config_and_store
from crm_core.cli.render import console, print_json, table
from crm_core.pull.sync import SyncEngine
from crm_core.pull.unmapped_codes import list_unmapped
from mappings.compile import CompiledMapping

app = typer.Typer(
    help="Reference codes: the source codes without a crosswalk entry to a canonical code.",
    no_args_is_help=True,
)


@app.command("unmapped")
def unmapped(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    config: ConfigOption = None,
) -> None:
    """List the source codes kept without a canonical code (value, source, stream, field,
    rows), most rows first; codes the crosswalks translate by now are left out."""
    cfg, store = open_config_and_store(ctx, config)
    engine = SyncEngine(cfg, store)

    def mapping_for(name: str) -> CompiledMapping | None:
        return engine.mapping_for(name) if name in cfg.sources else None

    rows = list_unmapped(store, mapping_for, source)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no unmapped codes: the crosswalks cover every code the sources sent")
        return
    console.print(
        table(
            "unmapped codes",
            ["value", "source", "stream", "field", "rows", "last seen"],
            (
                [r["value"], r["source"], r["stream"], r["field"], f"{r['rows']:,}", r["last_seen"]]
                for r in rows
            ),
            numeric=["rows"],
        )
    )
    console.print(
        "add each value to the crosswalks of its source's mapping file (crosswalks.<list>), "
        "then run the sync with --full-refresh to translate the rows already loaded"
    )


def register(root: typer.Typer) -> None:
    """Add the codes commands to the app."""
    root.add_typer(app, name="codes")
