"""The sample REST ERP: its data (shared customers spelled its own way, a day of changes)
and its server (three ways to page, inclusive ``updated_since``, faults on demand)."""

# ruff: noqa: F401, F811 - the fixtures come from tests.rest_erp_kit
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select

from sample_erps import rest_erp, universe
from sample_erps.rest_erp import names
from sample_erps.rest_erp.schema import CUSTOMERS, ORDERS, TABLES
from sample_erps.rest_erp.server import RestErpServer
from tests.rest_erp_kit import AS_OF, erp, erp_db, erp_rows, erp_template


def test_rest_erp_names_are_romanized_the_way_an_export_desk_writes_them() -> None:
    assert names.english_company("上海华盛机械制造有限公司") == (
        "Shanghai Huasheng Machinery Manufacturing Co., Ltd."
    )
    assert names.english_company("深圳宏达东方电子科技有限公司") == (
        "Shenzhen Hongda Dongfang Electronic Technology Co., Ltd."
    )
    assert names.english_company("某某公司") is None
    assert names.pinyin_person("欧阳建华", western_order=False) == "Ouyang Jianhua"
    assert names.pinyin_person("王伟", western_order=True) == "Wei Wang"
    assert "華" in "上海华盛贸易有限公司".translate(names.TRADITIONAL)


def test_rest_erp_shares_half_its_customers_with_the_legacy_erp_in_its_own_spelling(
    tmp_path: Path,
) -> None:
    dumps, truths = [], []
    for run in ("a", "b"):
        engine = create_engine(f"sqlite:///{tmp_path / run}.db")
        rest_erp.create_schema(engine)
        truth: list[tuple[str, str]] = []
        counts = rest_erp.generate(engine, seed=5, as_of=AS_OF, customers=200, truth=truth)
        with engine.connect() as conn:
            dumps.append(conn.execute(select(CUSTOMERS).order_by(CUSTOMERS.c.id)).all())
            latest = conn.execute(select(func.max(ORDERS.c.updated_at))).scalar()
        engine.dispose()
        truths.append(truth)
    assert dumps[0] == dumps[1] and truths[0] == truths[1]  # the same seed, the same rows
    assert counts["customers"] == len(truths[0]) > 200 and counts["order_lines"] > 2000
    assert latest < "2026-11-21"
    legacy = {c.true_id for c in universe.build(5, 200)}
    shared = {t for _, t in truths[0]} & legacy
    assert 70 < len(shared) < 130  # about half
    rows = dumps[0]
    chinese = [r for r in rows if r.country == "CN"]
    assert any(r.name.isascii() for r in chinese), "some Chinese names in pinyin / English"
    traditional = {chr(c) for c in names.TRADITIONAL.values()}
    assert any(set(r.name) & traditional for r in chinese), "some in traditional characters"
    assert any(r.kind == "company" and r.vat_number is None for r in rows)
    assert all(" " not in r.phone for r in rows if r.phone.startswith("+"))
    assert any(not r.phone.startswith("+") for r in rows), "some phones in national format"


def test_rest_erp_changes_are_stamped_after_everything_before(erp_db: Path) -> None:
    engine = create_engine(f"sqlite:///{erp_db}")
    before = max(_latest(engine, t) for t in TABLES)
    changed = rest_erp.apply_changes(engine, seed=6, as_of=date(2026, 11, 21))
    assert changed["new orders"] >= 1 and changed["stock moves"] >= 2
    after = {t.name: _count_after(engine, t, before) for t in TABLES}
    assert after["stock"] == changed["stock moves"]
    assert after["orders"] == changed["new orders"] + changed["orders moved on"]
    with pytest.raises(ValueError, match="already has changes after"):
        rest_erp.apply_changes(engine, seed=7, as_of=date(2026, 11, 20))
    engine.dispose()


def _latest(engine, table) -> str:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.max(table.c.updated_at))).scalar() or ""


def _count_after(engine, table, moment: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(table).where(table.c.updated_at > moment)
        ).scalar_one()


def test_rest_erp_api_pages_filter_inclusively_and_show_offsets(
    erp: RestErpServer, erp_db: Path
) -> None:
    api = erp.api_url
    everything = erp_rows(erp_db, "orders")
    by_page = requests.get(f"{api}/orders", params={"page": 2, "per_page": 10}, timeout=5).json()
    by_offset = requests.get(f"{api}/orders", params={"offset": 10, "limit": 10}, timeout=5)
    assert by_page["data"] == by_offset.json()["data"] == everything[10:20]
    assert by_page["meta"]["total"] == len(everything)
    assert by_offset.links["next"]["url"].endswith("offset=20&limit=10")
    stamp = everything[30]["updated_at"]
    assert re.search(r"[+-]\d\d:\d\d$", stamp)
    since = requests.get(f"{api}/orders", params={"updated_since": stamp, "limit": 1000}, timeout=5)
    moment = datetime.fromisoformat(stamp)
    assert since.json()["data"] == [
        r for r in everything if datetime.fromisoformat(r["updated_at"]) >= moment
    ]
    bad = requests.get(f"{api}/orders", params={"cursor": "not-a-token"}, timeout=5)
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]["message"]
    assert requests.get(f"{api}/nothing", timeout=5).status_code == 404


def test_rest_erp_faults_from_the_admin_endpoint_and_the_request_header(
    erp: RestErpServer,
) -> None:
    url = f"{erp.api_url}/customers"
    admin = requests.post(
        f"{erp.url}/_admin/faults",
        json={"kind": "rate_limit", "path": "/api/v1/customers", "retry_after": 7},
        timeout=5,
    )
    assert admin.status_code == 200 and admin.json()["faults"][0]["kind"] == "rate_limit"
    limited = requests.get(url, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert requests.get(url, timeout=5).status_code == 200  # it fired once
    assert requests.get(url, headers={"X-Fault": "status=502"}, timeout=5).status_code == 502
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, headers={"X-Fault": "drop"}, timeout=5)
    with pytest.raises(requests.exceptions.JSONDecodeError):
        requests.get(url, headers={"X-Fault": "malformed"}, timeout=5).json()
    slow = requests.get(url, headers={"X-Fault": "kind=slow;delay=0.3"}, timeout=5)
    assert slow.status_code == 200 and slow.elapsed.total_seconds() >= 0.3
    assert requests.delete(f"{erp.url}/_admin/faults", timeout=5).json() == {"faults": []}
    assert requests.get(f"{erp.url}/health", timeout=5).json() == {"status": "ok"}
