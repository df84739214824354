"""A demo store for the API tests: the sample legacy ERP synced, and golden customers.

Golden customers are made here the simple way (records sharing a tax id or an e-mail are
one customer, the lowest source key supplies every field), so the API tests do not wait
for a trained matching model. The store is built once per test session and copied for
each test module (a SQLite file copy takes milliseconds).
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from crm_core.golden import phone_index
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES, golden_customers, golden_lineage, source_links
from schemas.reconcile import DEFAULT_PHONE_REGION
from schemas.settings import HubConfig, load_config

AS_OF = date(2026, 11, 20)
CUSTOMERS = 120
SEED = 11
GOLDEN_FIELDS = (
    "kind",
    "name",
    "tax_id",
    "email",
    "phone",
    "street",
    "city",
    "region",
    "postcode",
    "country",
)
#: A golden id that was merged into the first customer.
MERGED_ID = "G09999999"


def _groups(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[tuple[str, str], int] = {}
    for i, record in enumerate(records):
        for field in ("tax_id", "email"):
            value = (record[field] or "").strip().lower()
            if not value:
                continue
            if (field, value) in seen:
                parent[find(i)] = find(seen[(field, value)])
            else:
                seen[(field, value)] = i
    groups: dict[int, list[dict[str, Any]]] = {}
    for i, record in enumerate(records):
        groups.setdefault(find(i), []).append(record)
    return sorted(groups.values(), key=lambda g: min(r["customer_id"] for r in g))


def link_goldens(store: Engine) -> int:
    """Golden customers, links and lineage for every customer record; returns how many
    golden customers there are (not counting :data:`MERGED_ID`)."""
    customers = RECORD_TABLES["customers"]
    now = datetime.now(UTC)
    with store.begin() as conn:
        records = [
            dict(r._mapping)
            for r in conn.execute(select(customers).order_by(customers.c.customer_id))
        ]
        goldens, links, lineage = [], [], []
        for n, group in enumerate(_groups(records), start=1):
            golden_id = f"G{n:08d}"
            first = min(group, key=lambda r: r["customer_id"])
            goldens.append(
                {
                    "golden_id": golden_id,
                    **{f: first[f] for f in GOLDEN_FIELDS},
                    "country": (first["country"] or None) and first["country"][:2],
                    "merged_into": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for record in group:
                links.append(
                    {
                        "source": record["source"],
                        "stream": "customers",
                        "source_key": record["customer_id"],
                        "golden_id": golden_id,
                        "rule": "tax_id_or_email" if len(group) > 1 else "single",
                        "linked_at": now,
                        "record_loaded_at": record["loaded_at"],
                    }
                )
            lineage += [
                {
                    "golden_id": golden_id,
                    "field": field,
                    "value": first[field],
                    "rule": "most_frequent",
                    "source": first["source"],
                    "stream": "customers",
                    "source_key": first["customer_id"],
                    "run_id": first["run_id"],
                    "decided_at": now,
                }
                for field in ("name", "email")
            ]
        merged = {**goldens[0], "golden_id": MERGED_ID, "merged_into": goldens[0]["golden_id"]}
        conn.execute(golden_customers.insert(), [*goldens, merged])
        conn.execute(source_links.insert(), links)
        conn.execute(golden_lineage.insert(), lineage)
        phone_index.index_all(conn, DEFAULT_PHONE_REGION)  # as reconcile does
    return len(goldens)


def demo_into(workdir: Path, store_url: str | None = None) -> tuple[HubConfig, Engine]:
    """The sample ERP in ``workdir`` synced into a store (the demo's SQLite file, or
    ``store_url``), with golden customers; its config and the store's engine."""
    from crm_core.pull.sync import SyncEngine
    from sample_erps import scenario

    scenario.prepare(workdir, seed=SEED, customers=CUSTOMERS, as_of=AS_OF)
    config = load_config(workdir / scenario.CONFIG_NAME)
    store = open_store(store_url or config.store_url())
    results = SyncEngine(config, store).sync_source(scenario.SOURCE)
    assert all(r.status == "success" for r in results), results
    link_goldens(store)
    return config, store


@cache
def _template(root: Path) -> Path:
    workdir = root / "template"
    _config, store = demo_into(workdir)
    store.dispose()
    return workdir


def demo_copy(root: Path, target: Path) -> tuple[HubConfig, Engine]:
    """A copy of the session's demo folder (ERP, config, store with golden customers) at
    ``target``; its config and an engine on its store."""
    shutil.copytree(_template(root), target)
    config = load_config(target / "crm-hub.yaml")
    return config, open_store(config.store_url())
