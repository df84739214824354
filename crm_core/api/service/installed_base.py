"""A customer's installed base: the serial-numbered products its source records own, with
the state of each warranty and service contract as of a day.

A warranty or contract is ``expiring`` when it ends within :data:`EXPIRING_DAYS` days of
``as_of``. An asset in service whose warranty is expiring and that has no service contract
in force (none, or one that ended) is a **renewal opportunity**: offer a service contract.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from crm_core.api.service.aftersales_views import (
    AssetsView,
    AssetView,
    ContractState,
    InstalledBaseSummary,
    WarrantyState,
)
from crm_core.api.service.lookup import resolve
from crm_core.golden.customer360 import linked
from crm_core.store.tables import RECORD_TABLES

#: how far ahead an ending warranty or contract counts as expiring
EXPIRING_DAYS = 90
assets_table = RECORD_TABLES["assets"]
_FIELDS = (
    "source",
    "asset_id",
    "item_id",
    "description",
    "serial_number",
    "quantity",
    "order_id",
    "shipped_on",
    "installed_on",
    "install_site",
    "warranty_end",
    "service_contract_id",
    "service_contract_end",
    "parent_asset_id",
    "status",
)


def warranty_state(end: date | None, as_of: date) -> WarrantyState:
    """in_warranty, expiring (within EXPIRING_DAYS), expired, or unknown (no end date)."""
    if end is None:
        return "unknown"
    if end < as_of:
        return "expired"
    return "expiring" if end <= as_of + timedelta(days=EXPIRING_DAYS) else "in_warranty"


def contract_state(contract: str | None, end: date | None, as_of: date) -> ContractState:
    """active, expiring (within EXPIRING_DAYS), expired, or none."""
    if not contract:
        return "none"
    if end is None:
        return "active"
    if end < as_of:
        return "expired"
    return "expiring" if end <= as_of + timedelta(days=EXPIRING_DAYS) else "active"


def asset_view(row: dict[str, Any], as_of: date) -> AssetView:
    """One asset row of the store as the API shows it."""
    warranty = warranty_state(row["warranty_end"], as_of)
    contract = contract_state(row["service_contract_id"], row["service_contract_end"], as_of)
    in_service = (row["status"] or "in_service") == "in_service"
    return AssetView(
        **{k: row[k] for k in _FIELDS},
        customer_key=row["customer_id"],
        warranty_state=warranty,
        contract_state=contract,
        renewal_opportunity=in_service
        and warranty == "expiring"
        and contract in ("none", "expired"),
    )


def assets_of(store: Engine, golden_id: str, *, as_of: date) -> AssetsView:
    """Every asset of the customer's source records (not those marked deleted), newest
    shipment first, with a summary of what is in service and what expires soon."""
    a = assets_table
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        stmt = (
            linked(a, standing)
            .where(a.c.deleted_at.is_(None))
            .order_by(a.c.shipped_on.desc(), a.c.source, a.c.asset_id)
        )
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    items = [asset_view(r, as_of) for r in rows]
    in_service = [i for i in items if (i.status or "in_service") == "in_service"]
    summary = InstalledBaseSummary(
        in_service=len(in_service),
        warranty_expiring=sum(i.warranty_state == "expiring" for i in in_service),
        contracts_expiring=sum(i.contract_state == "expiring" for i in in_service),
        renewal_opportunities=sum(i.renewal_opportunity for i in items),
        expiring_within_days=EXPIRING_DAYS,
    )
    return AssetsView(id=standing, as_of=as_of, items=items, summary=summary)
