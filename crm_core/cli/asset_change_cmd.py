"""``crm-hub change asset``: a CRM-side change of a customer's asset (an install-site
correction, a service contract renewal), the same service as ``PATCH
/customers/{id}/assets/{asset_id}`` and ``POST .../contract-renewals``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from crm_core.access.actors import who
from crm_core.cli.context import ConfigOption, open_config_and_store
from crm_core.cli.pushback_cmd import ByOpt, JsonOpt, KeyOpt, change_app, show_change
from schemas.errors import ConfigError


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{option} takes a date YYYY-MM-DD, not {value!r}") from None


@change_app.command("asset")
def change_asset(
    ctx: typer.Context,
    golden_id: Annotated[str, typer.Argument(help="The golden customer id.")],
    asset_id: Annotated[
        str, typer.Argument(help="The asset's id (its serial number, as /assets lists it).")
    ],
    install_site: Annotated[
        str | None,
        typer.Option("--install-site", help="Where the unit is really installed (a correction)."),
    ] = None,
    contract_end: Annotated[
        str | None,
        typer.Option(
            "--contract-end",
            help="Renew the service contract until this day (YYYY-MM-DD).",
        ),
    ] = None,
    contract_id: Annotated[
        str | None,
        typer.Option(
            "--contract-id",
            help="The renewal's contract id, when it is a new contract (with --contract-end).",
        ),
    ] = None,
    by: ByOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOption = None,
) -> None:
    """Correct an asset's install site or renew its service contract.

    The change goes to the system that keeps the asset (push_back.ownership.assets in
    crm-hub.yaml): checked and put in the outbox now, written there by 'crm-hub push'.
    Fields the CRM side does not own, and an asset the customer does not own, are refused.

    Examples: crm-hub change asset G00000042 SN-0001 --install-site "Shanghai plant 3";
    crm-hub change asset G00000042 SN-0001 --contract-end 2028-03-31 --contract-id SC-9
    """
    from crm_core.pushback import submit

    values: dict[str, Any] = {}
    if install_site is not None:
        values["install_site"] = install_site
    end = _day(contract_end, "--contract-end")
    if end is not None:
        values["service_contract_end"] = end
    if contract_id is not None:
        if end is None:
            raise ConfigError("--contract-id goes with --contract-end (the renewal's end)")
        values["service_contract_id"] = contract_id
    if not values:
        raise ConfigError("say what changes: --install-site and/or --contract-end")
    cfg, store = open_config_and_store(ctx, config)
    view = submit.change_asset(
        store,
        cfg,
        golden_id=golden_id,
        asset_id=asset_id,
        values=values,
        who=who(by),
        idempotency_key=key,
    )
    show_change(view, as_json)
