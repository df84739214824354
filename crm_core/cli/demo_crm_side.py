"""The demo's CRM side: the seed's story played on the sample ERPs.

Sales records a concession a manager approved for one customer; for another, sales types
a new phone number while the back office changes the same phone in the legacy ERP. Push
back books the concession in finance (the legacy ERP) and writes the phone where nobody
changed it meanwhile; the legacy ERP's phone is a conflict, recorded, not overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select, update

from crm_core.pushback import submit
from crm_core.store.tables import source_links
from mappings.legacy_dates import stamp
from sample_erps import legacy_erp
from sample_erps.legacy_erp_schema import RCM
from schemas.settings import HubConfig

SALES, MANAGER = "sales.li", "王建国"
LEGACY_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class CrmStory:
    """The changes the demo made on the CRM side, and the back office's own edit."""

    concession: submit.ChangeView
    phone: submit.ChangeView
    back_office_phone: str


def _customers_in_both(store: Engine, limit: int = 2) -> list[tuple[str, str]]:
    """Golden customers with a record in the legacy and the modern ERP (first by id)."""
    both = (
        select(source_links.c.golden_id)
        .where(source_links.c.source.in_(("legacy_erp", "modern_erp")))
        .group_by(source_links.c.golden_id)
        .having(func.count(func.distinct(source_links.c.source)) == 2)
        .order_by(source_links.c.golden_id)
        .limit(limit)
        .subquery()
    )
    with store.connect() as conn:
        rows = conn.execute(
            select(source_links.c.golden_id, func.min(source_links.c.source_key))
            .where(
                source_links.c.golden_id.in_(select(both.c.golden_id)),
                source_links.c.source == "legacy_erp",
            )
            .group_by(source_links.c.golden_id)
            .order_by(source_links.c.golden_id)
        ).all()
    return [(g, k) for g, k in rows]


def play(config: HubConfig, store: Engine, erp: Engine, today: date) -> CrmStory:
    """Record the CRM-side changes and make the back office's conflicting edit."""
    (first, _), (second, second_key) = _customers_in_both(store)
    concession = submit.record_concession(
        store,
        config,
        golden_id=first,
        concession={
            "kind": "percent",
            "percent": "5",
            "reason": "年度框架协议返利 (framework agreement rebate)",
            "approver": MANAGER,
            "valid_from": today.isoformat(),
            "valid_to": date(today.year + 1, today.month, 1).isoformat(),
        },
        who=SALES,
        idempotency_key=f"demo-concession-{first}",
    )
    phone = submit.change_fields(
        store,
        config,
        entity="customers",
        golden_id=second,
        values={"phone": "+86 21 5555 0101"},
        who=SALES,
        idempotency_key=f"demo-phone-{second}",
    )
    back_office = "021-6666-0202"
    chgd, chgt = stamp(datetime.now(LEGACY_ZONE).replace(tzinfo=None))
    with erp.begin() as conn:
        conn.execute(
            update(RCM)
            .where(func.rtrim(RCM.c.CCUST) == second_key.strip())
            .values(CPHON=legacy_erp.pad(back_office, 20), CCHGD=chgd, CCHGT=chgt)
        )
    return CrmStory(concession, phone, back_office)
