"""The ops page (``/ui/ops``) through FastAPI's TestClient on a demo store that went
through what ops watch for: a pull that quarantined an order of an unknown customer, a
pull of an unreachable source that failed, a phone changed on both sides (an open
conflict), a credit-limit request the ERP overrode (a conflict resolved by policy) and a
change that failed every attempt (a dead letter). Ops and admin keys see it, in Chinese
and English; other roles are refused and get no link to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.pull.sync import SyncEngine
from crm_core.pushback import submit
from crm_core.pushback.deliver import push_back
from crm_core.store.tables import source_links
from tests import pushback_kit as kit
from tests.api_kit import demo_copy
from tests.test_web_pages import _as, _text

PHONE_BOTH_SIDES, CREDIT_OVERRIDDEN, UNREACHABLE = "G00000047", "G00000039", "G00000040"


def _legacy_key(store, golden_id: str) -> str:
    with store.connect() as conn:
        key = conn.execute(
            select(source_links.c.source_key).where(
                source_links.c.golden_id == golden_id, source_links.c.source == "legacy_erp"
            )
        ).scalar_one()
    return str(key).strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict, dict]]:
    root = Path(tmp_path_factory.getbasetemp())
    workdir = tmp_path_factory.mktemp("web_ops") / "demo"
    config, store = demo_copy(root, workdir)
    erp = workdir / "crm-hub.yaml"
    made = {
        "phone": submit.change_fields(
            store,
            config,
            entity="customers",
            golden_id=PHONE_BOTH_SIDES,
            values={"phone": "+86 532 8000 0001"},
            who="editor wang",
        ),
        "credit": submit.request_credit_limit(
            store, config, golden_id=CREDIT_OVERRIDDEN, credit_limit="88000.00", who="editor wang"
        ),
    }
    kit.legacy_exec(
        erp,
        "UPDATE RCM SET CPHON = '0532-6666-0202', CCHGD = 20261122, CCHGT = 101500 "
        "WHERE rtrim(CCUST) = :k",
        k=_legacy_key(store, PHONE_BOTH_SIDES),
    )
    kit.legacy_exec(
        erp,
        "UPDATE RCR SET CRLIM = 5000000, CCHGD = 20261122, CCHGT = 90000 WHERE rtrim(CCUST) = :k",
        k=_legacy_key(store, CREDIT_OVERRIDDEN),
    )
    assert push_back(config, store).conflicts == 2
    made["dead"] = submit.change_fields(
        store, config, entity="customers", golden_id=UNREACHABLE,
        values={"email": "ap@jinqiao.example.cn"}, who="editor wang",
    )  # fmt: skip
    broken = config.model_copy(deep=True)
    broken.push_back.max_attempts, broken.push_back.backoff_seconds = 1, 0
    broken.sources["legacy_erp"].url = f"sqlite:///{workdir / 'gone' / 'erp.db'}"
    assert push_back(broken, store).failed == 1
    kit.legacy_exec(
        erp,
        "INSERT INTO ECH VALUES (199999, 'C999999', 126326, 20261130, 'E', 'CNY', 100000, "
        "20261122, 120000)",
    )
    [orders] = SyncEngine(config, store).sync_source("legacy_erp", ["orders"])
    assert orders.counts.rows_quarantined == 1
    [failed] = SyncEngine(broken, store).sync_source("legacy_erp", ["customers"])
    assert failed.status == "failed"
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {role: create_key(store, role, f"{role.value} wang")[1] for role in Role}
    with TestClient(app, follow_redirects=False) as client:
        yield client, keys, {k: v.change_id for k, v in made.items()}
    store.dispose()


def _row(page: str, attribute: str, value: object) -> str:
    found = re.search(rf'<tr data-{attribute}="{value}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, f"no row {attribute}={value}"
    return _text(found.group(1))


def test_web_ops_page_lists_runs_quarantine_conflicts_and_dead_letters(site) -> None:
    client, keys, changes = site
    client.cookies.clear()
    client.cookies.set("lang", "en")
    signed = client.post("/ui/login", data={"key": keys[Role.OPS]})
    assert signed.headers["location"] == "/ui/ops"  # an ops key sees no customers
    page = client.get("/ui/ops")
    assert page.status_code == 200
    text = _text(page.text)
    assert 'href="/ui/ops"' in page.text and 'id="nav-search"' not in page.text

    assert re.search(r"1 of the last (\d+) runs failed \(\1 runs in all\)\.", text)
    failed = re.search(r'<tr data-run="(\d+)" class="run-failed">(.*?)</tr>', page.text, re.S)
    assert failed
    shown = _text(failed.group(2))
    assert "Legacy ERP (AS/400) customers Incremental Failed" in shown
    assert "unable to open database file" in shown
    orders = _text(
        re.findall(r'<tr data-run="\d+" class="run-success">(.*?)</tr>', page.text, re.S)[0]
    )
    assert "orders" in orders and "Succeeded" in orders

    assert "1 rows held back" in text
    held = _row(page.text, "quarantine", 1)
    assert "199999" in held and "'C999999' is not a known customers.customer_id" in held

    open_part, resolved_part = page.text.split('id="resolved-conflicts"')
    phone = _row(open_part, "conflict", 1)
    for part in (PHONE_BOTH_SIDES, "Phone", "+86 532 8000 0001", "0532-6666-0202"):
        assert part in phone
    assert "Manual" in phone and changes["phone"] in phone
    assert "crm-hub conflicts resolve ID --keep crm|target" in text
    credit = _row(resolved_part, "conflict", 2)
    assert "Credit limit" in credit and "88000.00" in credit
    assert "Target's value" in credit and "policy:owner_wins" in credit
    # an ops key may not open customers: their ids are not links
    assert f'href="/ui/customers/{PHONE_BOTH_SIDES}"' not in page.text

    dead = _row(page.text, "change", changes["dead"])
    assert "Contact data: E-mail" in dead and "Legacy ERP (AS/400): Failed" in dead
    assert "unable to open database file" in dead and "editor wang" in dead


def test_web_ops_page_in_chinese_for_admin_with_links(site) -> None:
    client, keys, changes = site
    _as(client, keys[Role.ADMIN], "zh-CN")
    search = client.get("/ui/search")
    assert 'href="/ui/ops"' in search.text and "运维" in _text(search.text)
    page = client.get("/ui/ops")
    assert page.status_code == 200
    text = _text(page.text)
    for label in ("运行监控", "最近运行", "隔离区", "回写冲突", "未解决", "最近已解决", "死信"):
        assert label in text
    assert re.search(r"最近 (\d+) 次运行中有 1 次失败（共 \1 次）。", text)
    assert "增量" in text and "失败" in text and "人工处理" in text and "所有者优先" in text
    assert "Recent runs" not in text and "Dead letters" not in text
    assert f'href="/ui/customers/{PHONE_BOTH_SIDES}"' in page.text
    assert "联系信息：邮箱" in _row(page.text, "change", changes["dead"])


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.FINANCE])
def test_web_ops_page_is_refused_to_other_roles(site, role: Role) -> None:
    client, keys, _changes = site
    search = _as(client, keys[role]).get("/ui/search")
    assert search.status_code == 200 and 'href="/ui/ops"' not in search.text
    refused = client.get("/ui/ops")
    assert refused.status_code == 403
    assert f"Your role ({role.value}) may not see the ops page." in _text(refused.text)
    assert "unable to open database file" not in refused.text
    _as(client, keys[role], "zh-CN")
    assert "角色的密钥不能查看运维页面" in _text(client.get("/ui/ops").text)
    client.cookies.clear()
    assert client.get("/ui/ops").headers["location"] == "/ui/login"


def test_web_ops_page_shows_pulls_reconcile_and_push_back_apart(site) -> None:
    client, keys, changes = site
    _as(client, keys[Role.OPS])
    page = client.get("/ui/ops").text
    tables = {
        name: re.search(rf'<table id="{name}">(.*?)</table>', page, re.S)
        for name in ("pull-runs", "push-back-runs")
    }
    assert all(tables.values()), [k for k, v in tables.items() if not v]
    rows = {
        name: re.findall(r'<tr data-run="\d+"[^>]*>(.*?)</tr>', found.group(1), re.S)
        for name, found in tables.items()
        if found
    }
    assert rows["pull-runs"] and all("_hub" not in _text(r) for r in rows["pull-runs"])
    assert all("_hub push_back" in _text(r) for r in rows["push-back-runs"])
    # this store has no reconcile run (its ledger starts after the demo's): said so apart
    reconcile = page.split('<h3 id="reconcile">', 1)[1].split("<h3", 1)[0]
    assert "No runs yet." in _text(reconcile) and "data-run" not in reconcile
    # the run that made a dead letter is failed, its error naming the change and target
    dead_run = [_text(r) for r in rows["push-back-runs"] if changes["dead"] in _text(r)]
    assert len(dead_run) == 1 and "Failed" in dead_run[0] and "legacy_erp" in dead_run[0]
    assert re.search(r"1 of the last \d+ failed", _text(page))
