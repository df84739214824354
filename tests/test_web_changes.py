"""The customer page's push-back forms through FastAPI's TestClient on the demo store: an
editor records an approved concession (it lands in the outbox, under the editor's name,
and shows in the Concessions panel and the pending changes as pending), changes contact
data; a viewer sees no form and is refused when posting one anyway; the push-back
service's refusals (a field the ERP owns, a concession that ends before it starts) and
input the page cannot read are shown in the reader's language with the reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.pushback import submit
from crm_core.store.tables import RECORD_TABLES, outbox
from schemas.pushback import FieldOwnership
from tests.api_kit import demo_copy
from tests.test_web_pages import _as, _text

CUSTOMER = "G00000047"
CONCESSION = {
    "kind": "amount",
    "amount": "1,200.50",
    "currency": "cny",
    "reason": "quality claim on delivery 4711",
    "approver": "Anna Schmidt",
    "valid_from": "2026-11-01",
    "valid_to": "2026-12-31",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, object, dict]]:
    root = Path(tmp_path_factory.getbasetemp())
    config, store = demo_copy(root, tmp_path_factory.mktemp("web_changes") / "demo")
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {role: create_key(store, role, f"{role.value} zhou")[1] for role in Role}
    with TestClient(app, follow_redirects=False) as client:
        yield client, store, keys
    store.dispose()


def _changes(store, golden_id: str) -> list[dict]:
    with store.connect() as conn:
        rows = conn.execute(
            select(outbox).where(outbox.c.golden_id == golden_id).order_by(outbox.c.id)
        )
        return [dict(r) for r in rows.mappings()]


def _token(page: str, form: str) -> str:
    """The one-off token of the form posting to ``.../{form}``."""
    found = re.search(rf'action="[^"]+/{form}".*?name="token" value="([0-9a-f]{{32}})"', page, re.S)
    assert found, f"no {form} form"
    return found.group(1)


def test_web_editor_records_a_concession_into_the_outbox_and_sees_it_pending(site) -> None:
    client, store, keys = site
    _as(client, keys[Role.EDITOR])
    page = client.get(f"/ui/customers/{CUSTOMER}")
    assert 'id="concessions"' in page.text and "No concessions." in _text(page.text)
    form = {**CONCESSION, "token": _token(page.text, "concessions")}
    done = client.post(f"/ui/customers/{CUSTOMER}/concessions", data=form)
    assert done.status_code == 200, _text(done.text)

    [change] = [c for c in _changes(store, CUSTOMER) if c["entity"] == "concessions"]
    assert change["state"] == "pending" and change["who"] == "editor zhou"
    new = {f: c["new"] for f, c in change["changes"].items()}
    assert Decimal(new["amount"]) == Decimal("1200.50") and new["currency"] == "CNY"
    assert new["approver"] == "Anna Schmidt" and new["valid_to"] == "2026-12-31"
    text = _text(done.text)
    concession = change["record_key"]
    assert (
        f"Recorded: concession {concession} (change {change['change_id']}, Pending, "
        "by editor zhou)." in text
    )
    row = re.search(rf'<tr data-concession="{concession}">(.*?)</tr>', done.text, re.S)
    assert row, "the concession is not in the Concessions panel"
    shown = _text(row.group(1))
    for part in ("Amount", "CN¥1,200.50", "quality claim", "Anna Schmidt", "Nov 1, 2026"):
        assert part in shown
    assert "Dec 31, 2026" in shown and "Approved" in shown and "Pending" in shown
    assert "CRM (not booked yet)" in shown
    pending = re.search(rf'<tr data-change="{change["change_id"]}">(.*?)</tr>', done.text, re.S)
    assert pending and "Legacy ERP (AS/400): Pending" in _text(pending.group(1))

    # the same form posted again (a reload) records nothing new
    again = client.post(f"/ui/customers/{CUSTOMER}/concessions", data=form)
    assert change["change_id"] in _text(again.text)
    assert len([c for c in _changes(store, CUSTOMER) if c["entity"] == "concessions"]) == 1


def test_web_percent_concession_for_an_order_in_chinese(site) -> None:
    client, store, keys = site
    _as(client, keys[Role.ADMIN], "zh-CN")
    page = client.get(f"/ui/customers/{CUSTOMER}")
    order = re.search(r'<option value="(\d+)"', page.text)
    assert order, "the form offers the customer's orders"
    done = client.post(
        f"/ui/customers/{CUSTOMER}/concessions",
        data={
            "kind": "percent",
            "amount": "999",  # left over in the hidden amount field: not sent
            "percent": "12.5",
            "reason": "老客户年度折扣",
            "approver": "王经理",
            "valid_from": "2026-11-15",
            "order_id": order.group(1),
        },
    )
    assert done.status_code == 200, _text(done.text)
    text = _text(done.text)
    assert "已登记：折让 CRM-" in text and "待推送" in text and "admin zhou" in text
    with store.connect() as conn:
        booked = (
            conn.execute(
                select(RECORD_TABLES["concessions"]).where(
                    RECORD_TABLES["concessions"].c.reason == "老客户年度折扣"
                )
            )
            .mappings()
            .one()
        )
    assert booked["amount"] is None and booked["order_id"] == order.group(1)
    row = re.search(rf'<tr data-concession="{booked["concession_id"]}">(.*?)</tr>', done.text, re.S)
    assert row
    shown = _text(row.group(1))
    assert "百分比" in shown and "12.5%" in shown and f"订单 {order.group(1)}" in shown
    assert "2026年11月15日" in shown and "已批准" in shown and "王经理" in shown


def test_web_viewer_sees_no_change_forms_and_is_refused_when_posting(site) -> None:
    client, store, keys = site
    before = len(_changes(store, CUSTOMER))
    for role in (Role.VIEWER, Role.FINANCE):
        page = _as(client, keys[role]).get(f"/ui/customers/{CUSTOMER}")
        assert page.status_code == 200 and 'id="concessions"' in page.text
        assert "/concessions" not in page.text.split('id="concession-form"')[1]
        assert 'action="/ui/customers/' not in page.text
        assert f"need an editor key; your role is {role.value}." in _text(page.text)
    _as(client, keys[Role.VIEWER])
    for form, data in (("concessions", CONCESSION), ("contact", {"phone": "+86 1"})):
        refused = client.post(f"/ui/customers/{CUSTOMER}/{form}", data=data)
        assert refused.status_code == 403
        assert "Refused: your role (viewer) may not submit changes." in _text(refused.text)
    _as(client, keys[Role.VIEWER], "zh-CN")
    refused = client.post(f"/ui/customers/{CUSTOMER}/concessions", data=CONCESSION)
    assert refused.status_code == 403
    assert "已拒绝：查看者 角色的密钥不能提交变更。" in _text(refused.text)
    assert len(_changes(store, CUSTOMER)) == before
    client.cookies.clear()
    assert client.post(f"/ui/customers/{CUSTOMER}/contact", data={}).status_code == 303


def test_web_editor_changes_contact_data_through_push_back(site) -> None:
    client, store, keys = site
    target = "G00000039"
    _as(client, keys[Role.EDITOR])
    page = client.get(f"/ui/customers/{target}")
    done = client.post(
        f"/ui/customers/{target}/contact",
        data={"phone": " +86 532 8888 0001 ", "postcode": "266000", "email": "", "city": ""},
    )
    assert done.status_code == 200, _text(done.text)
    [change] = _changes(store, target)
    assert change["entity"] == "customers" and change["who"] == "editor zhou"
    assert {f: c["new"] for f, c in change["changes"].items()} == {
        "phone": "+86 532 8888 0001",
        "postcode": "266000",
    }
    view = submit.get_change(store, change["change_id"])
    assert view.state == "pending" and [t["target"] for t in view.targets] == ["legacy_erp"]
    text = _text(done.text)
    assert (
        f"Queued: change {change['change_id']} (Pending) of Phone, Postcode, by editor zhou."
        in text
    )
    assert "Contact data: Phone" in text and "→ +86 532 8888 0001" in text
    # the stewardship pin form is still there, as it was
    assert f'action="/ui/customers/{target}/correct"' in page.text
    empty = client.post(f"/ui/customers/{target}/contact", data={"phone": "  "})
    assert empty.status_code == 422
    assert "Not accepted: Nothing to change: fill in at least one field." in _text(empty.text)


def test_web_refusals_of_the_push_back_service_are_shown_with_the_reason(site) -> None:
    client, store, keys = site
    app = client.app
    # this deployment's ERP owns postcodes: the CRM may not change them
    owned = app.state.config.model_copy(deep=True)
    owned.push_back.ownership["customers"].fields["postcode"] = FieldOwnership(owner="legacy_erp")
    before = len(_changes(store, CUSTOMER))
    _as(client, keys[Role.EDITOR])
    original, app.state.config = app.state.config, owned
    try:
        refused = client.post(
            f"/ui/customers/{CUSTOMER}/contact", data={"postcode": "266071", "city": "青岛"}
        )
        assert refused.status_code == 422
        text = _text(refused.text)
        assert (
            "Not accepted: customers.postcode is owned by legacy_erp; the CRM side may not "
            "change it (change it in legacy_erp)" in text
        )
        # the form comes back as it was filled in
        assert re.search(r'name="postcode"[^>]*value="266071"', refused.text)
        _as(client, keys[Role.EDITOR], "zh-CN")
        zh = client.post(f"/ui/customers/{CUSTOMER}/contact", data={"postcode": "266071"})
        assert zh.status_code == 422
        assert "未被接受：邮编 归 旧版ERP（AS/400） 管理，CRM 不能修改" in _text(zh.text)
    finally:
        app.state.config = original

    _as(client, keys[Role.EDITOR])
    backwards = {**CONCESSION, "valid_from": "2026-12-01", "valid_to": "2026-11-01"}
    bad = client.post(f"/ui/customers/{CUSTOMER}/concessions", data=backwards)
    assert bad.status_code == 422
    assert "Not accepted: concessions.valid_to: ends before it starts" in _text(bad.text)
    assert 'value="quality claim on delivery 4711"' in bad.text
    unread = client.post(
        f"/ui/customers/{CUSTOMER}/concessions", data={**CONCESSION, "amount": "12abc"}
    )
    assert unread.status_code == 422
    assert "Not accepted: Amount: “12abc” is not a number." in _text(unread.text)
    no_amount = client.post(
        f"/ui/customers/{CUSTOMER}/concessions", data={**CONCESSION, "amount": ""}
    )
    assert "an amount concession needs amount and currency" in _text(no_amount.text)
    missing = client.post("/ui/customers/G12345678/concessions", data=CONCESSION)
    assert missing.status_code == 404 and "No customer G12345678." in _text(missing.text)
    with store.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.golden_id == CUSTOMER)
        ).scalar()
    assert count == before
