"""Golden records from the command line: ``crm-hub reconcile``, the stewards' ``merge``,
``unmerge``, ``pin``, ``unpin`` and ``stewardship list|undo``, and ``golden show|list``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from crm_core.cli.context import ConfigOption, open_config_and_store
from crm_core.cli.render import console, print_json, table

stewardship_app = typer.Typer(
    help="Stewards' actions (merge, unmerge, pin, unpin): list them, undo one.",
    no_args_is_help=True,
)
golden_app = typer.Typer(help="Golden customers: find them, see one whole.", no_args_is_help=True)

ByOpt = Annotated[str | None, typer.Option("--by", help="Who does this (default: the login name).")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="Why (kept with the action).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON for scripts.")]


def reconcile_cmd(
    ctx: typer.Context,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Match every record with every other and train the model again "
            "(golden ids stay); default: only new and changed records.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Match customer records, keep golden ids stable, rebuild the golden records."""
    from crm_core.golden import reconcile

    cfg, store = open_config_and_store(ctx, config)
    result = reconcile(store, cfg.reconcile, full=full)
    if as_json:
        print_json(result)
        return
    console.print(
        f"reconcile ({result['mode']}, run {result['run_id']}): "
        f"{result['records_matched']:,} of {result['records']:,} customer records matched "
        f"({result['matching']}); golden customers: {result['golden_created']:,} created, "
        f"{result['golden_updated']:,} updated, {result['golden_merged']:,} merged, "
        f"{result['golden_total']:,} in all; {result['seconds']['total']:.2f}s"
    )


def _steward(
    ctx: typer.Context,
    config: Path | None,
    act: Callable[..., dict[str, Any]],
    *args: str,
    by: str | None,
    note: str | None,
) -> dict[str, Any]:
    """Do a steward's action (merge, unmerge, pin, unpin) on the configured store with
    its survivorship rules; the action as recorded."""
    cfg, store = open_config_and_store(ctx, config)
    return act(store, *args, cfg.reconcile.survivorship, by=by, note=note)


def merge_cmd(
    ctx: typer.Context,
    into: Annotated[str, typer.Argument(help="Golden id (or source:key) that stays.")],
    other: Annotated[str, typer.Argument(help="Golden id (or source:key) merged into it.")],
    by: ByOpt = None,
    note: NoteOpt = None,
    config: ConfigOption = None,
) -> None:
    """Merge golden customer B into A: A keeps its id, B is recorded as merged into it."""
    from crm_core.golden import merge

    action = _steward(ctx, config, merge, into, other, by=by, note=note)
    args = action["args"]
    console.print(
        f"merged {args['merged']} into {args['into']} ({len(args['records'])} record(s) "
        f"moved; action {action['id']} by {action['who']}; undo: crm-hub stewardship undo "
        f"{action['id']})",
        markup=False,
    )


def unmerge_cmd(
    ctx: typer.Context,
    golden_id: Annotated[str, typer.Argument(help="The golden customer.")],
    source_ref: Annotated[
        str, typer.Argument(help="The record to take out: source:stream:key or source:key.")
    ],
    by: ByOpt = None,
    note: NoteOpt = None,
    config: ConfigOption = None,
) -> None:
    """Take a source record out of a golden customer into one of its own, for good."""
    from crm_core.golden import unmerge

    action = _steward(ctx, config, unmerge, golden_id, source_ref, by=by, note=note)
    args = action["args"]
    console.print(
        f"{':'.join(args['record'])} taken out of {args['from']} into {args['new_golden']} "
        f"(action {action['id']} by {action['who']})",
        markup=False,
    )


def pin_cmd(
    ctx: typer.Context,
    golden_id: Annotated[str, typer.Argument(help="The golden customer.")],
    field: Annotated[str, typer.Argument(help="A golden field, e.g. name or email.")],
    value: Annotated[str, typer.Argument(help="The value it keeps.")],
    by: ByOpt = None,
    note: NoteOpt = None,
    config: ConfigOption = None,
) -> None:
    """Make a golden field keep a value, whatever its sources say later."""
    from crm_core.golden import pin

    action = _steward(ctx, config, pin, golden_id, field, value, by=by, note=note)
    console.print(
        f"{action['golden_id']}.{field} pinned to {value!r} (action {action['id']})",
        markup=False,
    )


def unpin_cmd(
    ctx: typer.Context,
    golden_id: Annotated[str, typer.Argument(help="The golden customer.")],
    field: Annotated[str, typer.Argument(help="The pinned field.")],
    by: ByOpt = None,
    note: NoteOpt = None,
    config: ConfigOption = None,
) -> None:
    """Let survivorship choose a pinned field again."""
    from crm_core.golden import unpin

    action = _steward(ctx, config, unpin, golden_id, field, by=by, note=note)
    console.print(f"{action['golden_id']}.{field} unpinned (action {action['id']})", markup=False)


@stewardship_app.command("list")
def list_cmd(
    ctx: typer.Context,
    golden: Annotated[
        str | None, typer.Option("--golden", help="Only actions on this golden id.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Stewards' actions, newest first."""
    from crm_core.golden import list_actions

    _cfg, store = open_config_and_store(ctx, config)
    rows = list_actions(store, golden, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no stewardship actions" + (f" on {golden}" if golden else ""))
        return
    console.print(
        table(
            "stewardship",
            ["id", "action", "golden", "what", "who", "when", "undone"],
            (
                [
                    r["id"],
                    r["action"],
                    r["golden_id"],
                    _what(r),
                    r["who"],
                    r["at"].strftime("%Y-%m-%d %H:%M"),
                    f"{r['undone_at']:%Y-%m-%d %H:%M} by {r['undone_by']}"
                    if r["undone_at"]
                    else "",
                ]
                for r in rows
            ),
        )
    )


@stewardship_app.command("undo")
def undo_cmd(
    ctx: typer.Context,
    action_id: Annotated[int, typer.Argument(help="The action's id (see 'stewardship list').")],
    by: ByOpt = None,
    config: ConfigOption = None,
) -> None:
    """Undo a steward's action; it stays on record, marked undone."""
    from crm_core.golden import undo

    cfg, store = open_config_and_store(ctx, config)
    done = undo(store, action_id, cfg.reconcile.survivorship, by=by)
    console.print(f"undid action {action_id} ({done['action']} {_what(done)})", markup=False)


@golden_app.command("show")
def show_cmd(
    ctx: typer.Context,
    golden_id: Annotated[str, typer.Argument(help="The golden id.")],
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """One golden customer whole: fields with lineage, source records, totals."""
    from crm_core.golden import customer_360

    _cfg, store = open_config_and_store(ctx, config)
    view = customer_360(store, golden_id)
    if as_json:
        print_json(view)
        return
    golden = view["golden"]
    note = (
        f" (asked for {golden['requested_id']}, merged into it)" if "requested_id" in golden else ""
    )
    console.print(f"[bold]{golden['golden_id']}[/bold]{note}")
    console.print(
        table(
            "fields",
            ["field", "value", "rule", "from", "run"],
            (
                [
                    r["field"],
                    r["value"],
                    r["rule"],
                    ":".join(p for p in (r["source"], r["stream"], r["source_key"]) if p),
                    r["run_id"],
                ]
                for r in view["lineage"]
            ),
        )
    )
    console.print(
        table(
            "source records",
            ["record", "name", "linked by", "linked at"],
            (
                [
                    f"{s['source']}:{s['stream']}:{s['source_key']}",
                    s["name"],
                    s["rule"],
                    s["linked_at"].strftime("%Y-%m-%d %H:%M"),
                ]
                for s in view["sources"]
            ),
        )
    )
    console.print(
        table(
            "totals",
            ["currency", "orders", "revenue", "open balance", "credit limit", "exposure", "hold"],
            (
                [
                    cur,
                    t["orders"],
                    t["revenue"],
                    t["open_balance"],
                    t["credit_limit"],
                    t["credit_exposure"],
                    "yes" if t["on_hold"] else "",
                ]
                for cur, t in view["totals"].items()
            ),
            numeric=("orders", "revenue", "open balance", "credit limit", "exposure"),
        )
    )


@golden_app.command("list")
def golden_list_cmd(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option("--name", help="Only names containing this text.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Golden customers (not merged ones), with how many source records each has."""
    from crm_core.golden.customer360 import list_goldens

    _cfg, store = open_config_and_store(ctx, config)
    rows = list_goldens(store, name, limit)
    if as_json:
        print_json(rows)
        return
    console.print(
        table(
            "golden customers",
            ["golden id", "name", "records", "country", "updated"],
            (
                [
                    r["golden_id"],
                    r["name"],
                    r["records"],
                    r["country"],
                    r["updated_at"].strftime("%Y-%m-%d %H:%M"),
                ]
                for r in rows
            ),
            numeric=("records",),
        )
    )


def _what(action: dict[str, Any]) -> str:
    args = action["args"]
    if action["action"] == "merge":
        return f"{args['merged']} into {args['into']}"
    if action["action"] == "unmerge":
        return f"{':'.join(args['record'])} out into {args['new_golden']}"
    if action["action"] == "pin":
        return f"{args['field']} = {json.dumps(args['value'], ensure_ascii=False)}"
    return str(args.get("field", ""))


def register(app: typer.Typer) -> None:
    """Add the golden-record commands to the app."""
    app.command("reconcile")(reconcile_cmd)
    app.command("merge")(merge_cmd)
    app.command("unmerge")(unmerge_cmd)
    app.command("pin")(pin_cmd)
    app.command("unpin")(unpin_cmd)
    app.add_typer(stewardship_app, name="stewardship")
    app.add_typer(golden_app, name="golden")
