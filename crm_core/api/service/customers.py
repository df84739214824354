"""Finding customers and showing one: search, the golden record, its sources and lineage."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, FromClause, and_, case, func, or_, select

from crm_core.api.service.lookup import resolve
from crm_core.api.service.search_index import key_form, name_form
from crm_core.api.service.views import (
    AddressView,
    CustomerDetail,
    CustomerSummary,
    LineageView,
    Page,
    SourceRecordView,
)
from crm_core.golden.customer360 import source_records
from crm_core.store.tables import (
    customer_search,
    golden_customers,
    golden_lineage,
)
from schemas.model import SourceRecordRef

#: A search uses at most this many words of the query.
MAX_WORDS = 8
_PHONE_LIKE = re.compile(r"^[\d\s+\-().]+$")
_SUMMARY = ("golden_id", "name", "kind", "tax_id", "email", "phone", "city", "country")


def query_words(q: str) -> list[tuple[str, str]]:
    """The words of a search, each as (name form, key form). A query that looks like a
    phone number is one word of its digits, so ``021-2557 5825`` finds ``02125575825``."""
    q = q.strip()
    if not q:
        return []
    if _PHONE_LIKE.match(q) and sum(c.isdigit() for c in q) >= 4:
        digits = re.sub(r"\D", "", q)
        return [("", digits)]
    words = [(name_form(w), key_form(w)) for w in q.split()[:MAX_WORDS]]
    return [w for w in words if w[0] or w[1]]


def _summary(row: Any) -> CustomerSummary:
    data = dict(row._mapping)
    data.pop("_total", None)
    data["id"] = data.pop("golden_id")
    return CustomerSummary(**data)


def search(
    store: Engine,
    q: str = "",
    *,
    limit: int = 50,
    offset: int = 0,
    include_retired: bool = False,
) -> Page[CustomerSummary]:
    """Golden customers (not merged, not retired unless ``include_retired``) whose name,
    pinyin, e-mail, phone, tax id or source key contains every word of ``q`` (all
    customers when ``q`` is empty); names that start with the first word come first,
    then by name."""
    g, s = golden_customers, customer_search
    columns = [g.c[c] for c in _SUMMARY]
    words = query_words(q)
    conds: list[Any] = [g.c.merged_into.is_(None)]
    if not include_retired:
        conds.append(g.c.retired_at.is_(None))
    order: list[Any] = []
    source: FromClause
    if words:
        source = g.join(s, s.c.golden_id == g.c.golden_id)
        for name, key in words:
            either = []
            if name:
                either.append(s.c.name_terms.contains(name, autoescape=True))
            if key:
                either.append(s.c.key_terms.contains(key, autoescape=True))
            conds.append(or_(*either))
        first = words[0][0] or words[0][1]
        starts = or_(
            s.c.name_terms.startswith(first, autoescape=True),
            s.c.name_terms.contains("\n" + first, autoescape=True),
        )
        order.append(case((starts, 0), else_=1))
    else:
        source = g
    # the page and the number of matches in one query (the index is read once, not twice)
    total_col = func.count().over().label("_total")
    stmt = select(*columns, total_col).select_from(source).where(and_(*conds))
    with store.connect() as conn:
        rows = conn.execute(
            stmt.order_by(*order, g.c.name, g.c.golden_id).limit(limit).offset(offset)
        ).all()
        if rows:
            total = rows[0]._total
        else:  # past the last page: count alone
            counted = select(func.count()).select_from(source).where(and_(*conds))
            total = conn.execute(counted).scalar() or 0
    return Page[CustomerSummary](
        items=[_summary(r) for r in rows], total=int(total), limit=limit, offset=offset
    )


def _sources(conn: Any, golden_id: str) -> list[SourceRecordView]:
    out = []
    for data in source_records(conn, golden_id):
        data["key"] = data.pop("source_key")
        data.pop("deleted_run_id", None)
        data["deleted"] = data.pop("deleted_at", None) is not None
        out.append(SourceRecordView(**data))
    return out


def _lineage(conn: Any, golden_id: str) -> list[LineageView]:
    out = []
    stmt = (
        select(golden_lineage)
        .where(golden_lineage.c.golden_id == golden_id)
        .order_by(golden_lineage.c.field)
    )
    for row in conn.execute(stmt):
        ref = (
            SourceRecordRef(system=row.source, stream=row.stream or "", key=row.source_key)
            if row.source and row.source_key
            else None
        )
        out.append(
            LineageView(
                field=row.field,
                value=row.value,
                rule=row.rule,
                source=ref,
                run_id=row.run_id,
                reconcile_run_id=row.reconcile_run_id,
                decided_at=row.decided_at,
            )
        )
    return out


def detail(store: Engine, golden_id: str) -> CustomerDetail:
    """The golden record ``golden_id`` (or the one it was merged into), its source
    records and where each field's value came from."""
    with store.connect() as conn:
        golden = resolve(conn, golden_id)
        standing = golden["golden_id"]
        return CustomerDetail(
            id=standing,
            requested_id=golden["requested_id"],
            kind=golden["kind"],
            name=golden["name"],
            tax_id=golden["tax_id"],
            email=golden["email"],
            phone=golden["phone"],
            address=AddressView(
                **{k: golden[k] for k in ("street", "city", "region", "postcode", "country")}
            ),
            created_at=golden["created_at"],
            updated_at=golden["updated_at"],
            status="retired" if golden.get("retired_at") else "active",
            retired_at=golden.get("retired_at"),
            sources=_sources(conn, standing),
            lineage=_lineage(conn, standing),
        )
