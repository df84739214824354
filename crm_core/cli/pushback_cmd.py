"""``crm-hub change``, ``push``, ``outbox`` and ``conflicts``: CRM-side changes and their
way back to the systems that own the fields.

The push-back engine and the store load inside the commands, not with the command line.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_core.access.actors import who
from crm_core.cli.context import ConfigOption, open_config_and_store
from crm_core.cli.render import console, print_json, table
from schemas.errors import ConfigError
from schemas.push_states import CHANGE_STATES, PushState

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crm_core.pushback import bulk, submit

change_app = typer.Typer(
    help="Record a CRM-side change: it is checked against the field ownership and the "
    "model, stored in the outbox, and written to the owning systems by 'crm-hub push'.",
    no_args_is_help=True,
)
outbox_app = typer.Typer(
    help="The outbox of CRM-side changes: list them (--failed: the dead letters), show "
    "one, retry a dead letter or cancel a change.",
    no_args_is_help=True,
)
conflicts_app = typer.Typer(
    help="Changes not written because the back office changed the same field since the "
    "hub read it: list them and resolve them (keep the CRM's value or the target's).",
    no_args_is_help=True,
)

ByOpt = Annotated[
    str | None, typer.Option("--by", help="Who makes the change (default: the login name).")
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="The same key submitted twice records the change once.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON for scripts.")]


def show_change(view: submit.ChangeView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_dict())
        return
    console.print(f"[bold]{view.change_id}[/bold] {view.state}: {view.entity} {view.op}")
    for name, values in view.changes.items():
        console.print(f"  {name}: {values['old']!r} -> {values['new']!r}", highlight=False)
    for t in view.targets:
        line = f"  -> {t['target']}.{t['stream']} {t['record_key']}: {t['state']}"
        if t.get("echoed_at"):
            line += " (read back)"
        if t.get("last_error"):
            line += f" ({t['last_error']})"
        console.print(line, highlight=False, markup=False)


def _pairs(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set takes FIELD=VALUE, not {item!r}")
        out[name.strip()] = value if value != "" else None
    return out


FromCsvOpt = Annotated[
    Path | None,
    typer.Option(
        "--from-csv",
        help="Submit many changes at once (at most 10,000 rows): a CSV with a golden_id "
        "column, a column per field (an empty cell leaves the field as it is) and an "
        "optional idempotency_key column. Each row is checked and answered on its own.",
        exists=True,
        dir_okay=False,
    ),
]


def _csv_changes(path: Path, entity: str) -> list[bulk.FieldChange]:
    """The rows of a bulk-change CSV as field changes (``ConfigError`` for a file without a
    golden_id column or with a row too long for its header)."""
    from crm_core.pushback import bulk

    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        if "golden_id" not in columns:
            raise ConfigError(f"{path}: no golden_id column (columns: {', '.join(columns)})")
        reader.fieldnames = columns
        items = []
        for line, row in enumerate(reader, start=2):
            if None in row:
                raise ConfigError(f"{path} row {line}: more cells than the header has columns")
            values = {
                k: v
                for k, v in row.items()
                if k not in ("golden_id", "idempotency_key") and v not in (None, "")
            }
            items.append(
                bulk.FieldChange(
                    golden_id=(row["golden_id"] or "").strip(),
                    values=values,
                    entity=entity,
                    idempotency_key=(row.get("idempotency_key") or "").strip() or None,
                )
            )
    return items


def _submit_csv(
    ctx: typer.Context, config: Path | None, path: Path, entity: str, by: str | None, as_json: bool
) -> None:
    """Submit a CSV of changes; print one line per refused row (all rows with --json);
    exit 1 when any row was refused."""
    from crm_core.pushback import bulk

    cfg, store = open_config_and_store(ctx, config)
    items = _csv_changes(path, entity)
    outcomes = bulk.submit_batch(store, cfg, items, who(by))
    accepted = sum(1 for o in outcomes if o.view and not o.view.replayed)
    replayed = sum(1 for o in outcomes if o.view and o.view.replayed)
    refused = [o for o in outcomes if o.error is not None]
    if as_json:
        print_json(
            {
                "accepted": accepted,
                "replayed": replayed,
                "refused": len(refused),
                "items": [
                    {
                        "row": o.index + 2,
                        "golden_id": items[o.index].golden_id,
                        "change_id": o.view.change_id if o.view else None,
                        "replayed": bool(o.view and o.view.replayed),
                        "error": str(o.error) if o.error else None,
                    }
                    for o in outcomes
                ],
            }
        )
    else:
        console.print(
            f"{path.name}: {len(items)} row(s): {accepted} recorded, {replayed} recorded "
            f"before (same idempotency key), {len(refused)} refused",
            highlight=False,
        )
        for o in refused:
            console.print(
                f"  row {o.index + 2} ({items[o.index].golden_id}): {o.error}",
                style="red",
                markup=False,
                highlight=False,
            )
    if refused:
        raise typer.Exit(1)


@change_app.command("customer")
def change_customer(
    ctx: typer.Context,
    golden_id: Annotated[
        str | None, typer.Argument(help="The golden customer id (not with --from-csv).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="FIELD=VALUE, e.g. phone=+86 21 5555 0101 (repeatable)."),
    ] = None,
    from_csv: FromCsvOpt = None,
    by: ByOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Change a customer's contact data (phone, e-mail, address) in the systems that keep
    it; fields the CRM does not own are refused. --from-csv: many customers at once."""
    from crm_core.pushback import submit

    if from_csv is not None:
        if golden_id or set_ or key:
            raise ConfigError("--from-csv takes the customers, fields and keys from the file")
        _submit_csv(ctx, config, from_csv, "customers", by, as_json)
        return
    if not golden_id:
        raise ConfigError("give a golden customer id (or --from-csv FILE)")
    cfg, store = open_config_and_store(ctx, config)
    view = submit.change_fields(
        store,
        cfg,
        entity="customers",
        golden_id=golden_id,
        values=_pairs(set_),
        who=who(by),
        idempotency_key=key,
    )
    show_change(view, as_json)


@change_app.command("credit-limit")
def change_credit_limit(
    ctx: typer.Context,
    golden_id: Annotated[
        str | None, typer.Argument(help="The golden customer id (not with --from-csv).")
    ] = None,
    limit: Annotated[Decimal | None, typer.Argument(help="The new credit limit.")] = None,
    from_csv: FromCsvOpt = None,
    by: ByOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Request a new credit limit from the system that owns credit limits. --from-csv:
    many customers at once (columns golden_id, credit_limit)."""
    from crm_core.pushback import submit

    if from_csv is not None:
        if golden_id or limit is not None or key:
            raise ConfigError("--from-csv takes the customers, limits and keys from the file")
        _submit_csv(ctx, config, from_csv, "credit", by, as_json)
        return
    if not golden_id or limit is None:
        raise ConfigError("give a golden customer id and the new limit (or --from-csv FILE)")
    cfg, store = open_config_and_store(ctx, config)
    view = submit.request_credit_limit(
        store, cfg, golden_id=golden_id, credit_limit=limit, who=who(by), idempotency_key=key
    )
    show_change(view, as_json)


@change_app.command("concession")
def change_concession(
    ctx: typer.Context,
    golden_id: Annotated[str, typer.Argument(help="The golden customer id.")],
    reason: Annotated[str, typer.Option(help="Why the concession was granted.")],
    approver: Annotated[str, typer.Option(help="The manager who approved it.")],
    amount: Annotated[Decimal | None, typer.Option(help="An amount off...")] = None,
    currency: Annotated[str | None, typer.Option(help="...in this currency.")] = None,
    percent: Annotated[Decimal | None, typer.Option(help="Or a percentage off.")] = None,
    order: Annotated[str | None, typer.Option(help="Only for this order.")] = None,
    valid_from: Annotated[
        str | None, typer.Option(help="From (YYYY-MM-DD, default today).")
    ] = None,
    valid_to: Annotated[str | None, typer.Option(help="Until (YYYY-MM-DD, default open).")] = None,
    by: ByOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Record an approved concession; push-back books it in the finance system."""
    from crm_core.pushback import submit

    cfg, store = open_config_and_store(ctx, config)
    view = submit.record_concession(
        store,
        cfg,
        golden_id=golden_id,
        concession={
            "kind": "percent" if percent is not None else "amount",
            "amount": amount,
            "currency": currency,
            "percent": percent,
            "order_id": order,
            "reason": reason,
            "approver": approver,
            "valid_from": valid_from or date.today().isoformat(),
            "valid_to": valid_to,
        },
        who=who(by),
        idempotency_key=key,
    )
    show_change(view, as_json)


@change_app.command("new-customer")
def change_new_customer(
    ctx: typer.Context,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="FIELD=VALUE; name is required (repeatable)."),
    ] = None,
    by: ByOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Create a customer in the systems push_back.ownership.customers.create_in names."""
    from crm_core.pushback import submit

    cfg, store = open_config_and_store(ctx, config)
    view = submit.create_customer(store, cfg, values=_pairs(set_), who=who(by), idempotency_key=key)
    show_change(view, as_json)


def push(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(help="At most this many changes.")] = None,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Write the due CRM-side changes to the systems that own their fields (what the
    push_back DAG runs on its schedule)."""
    from crm_core.pushback.deliver import push_back

    cfg, store = open_config_and_store(ctx, config)
    result = push_back(cfg, store, limit)
    if as_json:
        print_json(result.as_dict())
    else:
        console.print(
            f"push-back (run {result.run_id}): {result.changes} due, {result.delivered} "
            f"delivered ({result.written} written, {result.already_applied} already there), "
            f"{result.conflicts} conflicts, {result.retrying} to retry, {result.failed} "
            f"dead letters, {result.waiting} waiting for an earlier change",
            highlight=False,
        )
        for line in result.errors:
            console.print(f"  {line}", style="red", markup=False, highlight=False)
    if result.failed:
        raise typer.Exit(1)


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only dead letters.")] = False,
    state: Annotated[
        str | None, typer.Option(help=f"Only changes in this state: {', '.join(CHANGE_STATES)}.")
    ] = None,
    customer: Annotated[str | None, typer.Option(help="Only this golden customer.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    wide: Annotated[
        bool,
        typer.Option("--wide", help="Whole change ids, fields and errors, however wide."),
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """List changes, newest first (ids a narrow table cuts: 'outbox show' takes a prefix)."""
    from crm_core.pushback import outbox as outbox_ops

    _, store = open_config_and_store(ctx, config)
    changes = outbox_ops.list_changes(store, PushState.FAILED if failed else state, customer, limit)
    if as_json:
        print_json([c.as_dict() for c in changes])
        return
    rows = outbox_ops.as_rows(changes, wide)
    columns = list(rows[0]) if rows else ["change", "state", "customer", "entity", "fields"]
    title = "dead letters" if failed else "outbox"
    out = table(f"{title}: {len(rows)} change(s)", columns, [r.values() for r in rows])
    if wide:
        for column in out.columns:
            column.overflow = "fold"  # long values go on to the next line, never cut
        out.columns[0].no_wrap = True
        out.columns[0].min_width = max((len(c.change_id) for c in changes), default=6)
    console.print(out)


@outbox_app.command("show")
def outbox_show(
    ctx: typer.Context,
    change_id: Annotated[str, typer.Argument(help="The change id (chg_...) or its start.")],
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """One change: its fields, old and new values, and each target's delivery."""
    from crm_core.pushback import outbox as outbox_ops
    from crm_core.pushback import submit

    _, store = open_config_and_store(ctx, config)
    whole = outbox_ops.resolve_change_id(store, change_id)
    show_change(submit.get_change(store, whole), as_json)


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context,
    change_id: Annotated[str, typer.Argument(help="A failed change's id, or its start.")],
    by: ByOpt = None,
    config: ConfigOption = None,
) -> None:
    """Put a dead letter back in the queue (due at the next push)."""
    from crm_core.pushback import outbox as outbox_ops

    _act(ctx, config, outbox_ops.retry, change_id, by)


@outbox_app.command("cancel")
def outbox_cancel(
    ctx: typer.Context,
    change_id: Annotated[str, typer.Argument(help="The change id, or its start.")],
    by: ByOpt = None,
    config: ConfigOption = None,
) -> None:
    """Give up a change that is not delivered yet."""
    from crm_core.pushback import outbox as outbox_ops

    _act(ctx, config, outbox_ops.cancel, change_id, by)


def _act(
    ctx: typer.Context,
    config: Path | None,
    action: Callable[[Engine, str, str], submit.ChangeView],
    change_id: str,
    by: str | None,
) -> None:
    from crm_core.pushback import outbox as outbox_ops

    _, store = open_config_and_store(ctx, config)
    whole = outbox_ops.resolve_change_id(store, change_id)
    show_change(action(store, whole, who(by)), False)


@conflicts_app.command("list")
def conflicts_list(
    ctx: typer.Context,
    state: Annotated[str, typer.Option(help="open, resolved or all.")] = "open",
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """List conflicts, newest first (open ones by default)."""
    from crm_core.pushback import conflicts as conflict_ops

    _, store = open_config_and_store(ctx, config)
    rows = conflict_ops.list_conflicts(store, None if state == "all" else state, limit)
    if as_json:
        print_json(rows)
        return
    columns = [
        "id",
        "state",
        "change",
        "customer",
        "target",
        "record",
        "field",
        "crm",
        "target value",
        "pulled",
        "policy",
        "resolution",
    ]
    console.print(
        table(
            f"conflicts ({state}): {len(rows)}",
            columns,
            [
                [
                    r["id"],
                    r["state"],
                    r["change_id"],
                    r["golden_id"],
                    r["target"],
                    r["record_key"],
                    r["field"],
                    r["crm_value"],
                    r["target_value"],
                    r["pulled_value"],
                    r["policy"],
                    r["resolution"] or "",
                ]
                for r in rows
            ],
        )
    )


@conflicts_app.command("resolve")
def conflicts_resolve(
    ctx: typer.Context,
    conflict_id: Annotated[int, typer.Argument(help="The conflict's id.")],
    keep: Annotated[str, typer.Option(help="crm: write the change; target: keep its value.")],
    by: ByOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Resolve an open conflict."""
    from crm_core.pushback import conflicts as conflict_ops

    _, store = open_config_and_store(ctx, config)
    # keep is checked there: anything but crm or target is refused with ChangeRejected
    row = conflict_ops.resolve(store, conflict_id, keep, who(by))  # type: ignore[arg-type]
    if as_json:
        print_json(row)
    else:
        console.print(
            f"conflict {row['id']} resolved: keep the {keep} value "
            + ("(written at the next push)" if keep == "crm" else "(not written there)")
        )


def register(app: typer.Typer) -> None:
    """Add the push-back commands to the CLI."""
    app.add_typer(change_app, name="change")
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(conflicts_app, name="conflicts")
    app.command("push")(push)


__all__ = ["register"]
