"""Screen pop (issue 19): ``GET /lookup/phone/{number}`` finds a customer by a number as a
phone system sends it, through the phone index written where golden records are, and
``/ui/pop?phone=`` opens its page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, update

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.golden.records import rebuild
from crm_core.identity.phones import lookup_keys
from crm_core.pushback.outbox import list_changes
from crm_core.store.tables import (
    RECORD_TABLES,
    golden_customers,
    golden_phones,
    outbox,
    outbox_targets,
    source_links,
)
from schemas.pushback import UNFINISHED_CHANGES
from schemas.reconcile import Survivorship
from tests.api_kit import demo_copy


@dataclass
class Site:
    client: TestClient
    store: Engine
    keys: dict[Role, str]

    def lookup(self, number: str, role: Role = Role.VIEWER) -> Any:
        answer = self.client.get(
            f"/lookup/phone/{quote(number)}",
            headers={"Authorization": f"Bearer {self.keys[role]}"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = Path(tmp_path_factory.getbasetemp())
    config, store = demo_copy(root, tmp_path_factory.mktemp("lookup_phone") / "demo")
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {role: create_key(store, role, f"{role.value} zhao")[1] for role in Role}
    with TestClient(app, follow_redirects=False) as client:
        yield Site(client, store, keys)
    store.dispose()


def _chinese_mobile(store: Engine) -> tuple[str, str]:
    """(golden id, national significant number) of a demo customer with a CN mobile."""
    with store.connect() as conn:
        rows = conn.execute(
            select(golden_customers.c.golden_id, golden_customers.c.phone)
            .where(golden_customers.c.merged_into.is_(None))
            .order_by(golden_customers.c.golden_id)
        ).all()
    for golden_id, phone in rows:
        keys = lookup_keys(phone, "CN")
        if keys and keys[0].startswith("+861") and len(keys[1]) == 11:
            return golden_id, keys[1]
    raise AssertionError("the demo has no customer with a Chinese mobile number")


def test_lookup_phone_finds_the_customer_in_every_form_a_phone_system_sends(site: Site) -> None:
    golden_id, nsn = _chinese_mobile(site.store)
    forms = (
        f"+86{nsn}",
        f"{nsn[:3]}-{nsn[3:7]}-{nsn[7:]}",
        f"0086 {nsn[:3]} {nsn[3:7]} {nsn[7:]}",
        f"+86 {nsn} ext. 204",
        f"{nsn}#12",
    )
    for number in forms:
        items = site.lookup(number)["items"]
        assert [i["id"] for i in items] == [golden_id], number
    card = site.lookup(f"+86{nsn}")["items"][0]
    assert card["summary"]["credit_status"] in ("ok", "near_limit", "hold", "unknown")
    assert len(card["last_orders"]) <= 5 and isinstance(card["open_issues"], list)
    orders = site.client.get(
        f"/customers/{golden_id}/orders",
        params={"limit": 5},
        headers={"Authorization": f"Bearer {site.keys[Role.VIEWER]}"},
    ).json()["items"]
    assert [o["order_id"] for o in card["last_orders"]] == [o["order_id"] for o in orders]


def test_lookup_phone_unknown_or_no_number_answers_no_items(site: Site) -> None:
    assert site.lookup("+86 199 0000 0001")["items"] == []
    answer = site.lookup("hello")
    assert answer["items"] == [] and answer["e164"] is None


def test_lookup_phone_needs_a_role_that_reads_customers(site: Site) -> None:
    _golden_id, nsn = _chinese_mobile(site.store)
    ops = site.client.get(
        f"/lookup/phone/%2B86{nsn}", headers={"Authorization": f"Bearer {site.keys[Role.OPS]}"}
    )
    assert ops.status_code == 403
    assert site.client.get(f"/lookup/phone/%2B86{nsn}").status_code == 401


def test_lookup_phone_index_follows_a_rebuilt_golden_record(site: Site) -> None:
    """A source record's new phone (full-width, as entered) is found after the golden
    record is rebuilt, as a reconcile does."""
    customers = RECORD_TABLES["customers"]
    golden_id, _nsn = _chinese_mobile(site.store)
    with site.store.begin() as conn:
        source, key = conn.execute(
            select(source_links.c.source, source_links.c.source_key)
            .where(source_links.c.golden_id == golden_id)
            .limit(1)
        ).one()
        conn.execute(
            update(customers)
            .where(customers.c.source == source, customers.c.customer_id == key)
            .values(phone="（＋８６） ７５５－５５７３－１７６０")
        )
        rebuild(conn, [golden_id], Survivorship(), run_id=None, now=datetime.now(UTC))
        keys = set(
            conn.execute(
                select(golden_phones.c.phone_key).where(golden_phones.c.golden_id == golden_id)
            ).scalars()
        )
    assert {"+8675555731760", "75555731760"} <= keys
    for number in ("0755-5573-1760", "+86 755 5573 1760", "0086 755 5573 1760 转 8"):
        assert [i["id"] for i in site.lookup(number)["items"]] == [golden_id], number


def test_lookup_phone_page_pop_redirects_lists_or_says_none(site: Site) -> None:
    golden_id, nsn = _chinese_mobile(site.store)
    client = site.client
    client.cookies.clear()
    client.cookies.set("lang", "en")
    assert client.post("/ui/login", data={"key": site.keys[Role.VIEWER]}).status_code == 303
    one = client.get("/ui/pop", params={"phone": f"{nsn[:3]}-{nsn[3:7]}-{nsn[7:]}"})
    assert one.status_code == 303 and one.headers["location"] == f"/ui/customers/{golden_id}"
    none = client.get("/ui/pop", params={"phone": "+86 199 0000 0001"})
    assert none.status_code == 200 and 'id="pop-none"' in none.text
    assert "No customer has the number +8619900000001." in none.text
    # a second customer with the same number: a list to choose from
    with site.store.begin() as conn:
        other = conn.execute(
            select(golden_customers.c.golden_id)
            .where(golden_customers.c.golden_id != golden_id)
            .where(golden_customers.c.merged_into.is_(None))
            .limit(1)
        ).scalar_one()
        conn.execute(golden_phones.insert().values(phone_key=f"+86{nsn}", golden_id=other))
    try:
        several = client.get("/ui/pop", params={"phone": f"+86{nsn}", "lang": "zh-CN"})
        assert several.status_code == 200 and 'id="pop-list"' in several.text
        assert f"/ui/customers/{golden_id}" in several.text
        assert f"/ui/customers/{other}" in several.text and "2 位客户使用此号码" in several.text
    finally:
        with site.store.begin() as conn:
            conn.execute(
                golden_phones.delete().where(
                    golden_phones.c.golden_id == other, golden_phones.c.phone_key == f"+86{nsn}"
                )
            )


def test_lookup_phone_card_lists_the_changes_not_delivered_newest_first(site: Site) -> None:
    """The card's open issues are the customer's changes pending, in conflict or failed:
    the newest ten of each state, newest first, as the outbox lists them state by state;
    delivered ones are not there."""
    golden_id, nsn = _chinese_mobile(site.store)
    editor = {"Authorization": f"Bearer {site.keys[Role.EDITOR]}"}
    made = []
    for n in range(16):
        answer = site.client.post(
            f"/customers/{golden_id}/credit-limit-requests",
            json={"credit_limit": str(100000 + n)},
            headers=editor,
        )
        assert answer.status_code == 202, answer.text
        made.append(answer.json()["change_id"])
    states = {"failed": made[:3] + made[9:11], "delivered": made[3:5], "conflict": made[5:7]}
    try:
        with site.store.begin() as conn:
            for state, ids in states.items():
                conn.execute(update(outbox).where(outbox.c.change_id.in_(ids)).values(state=state))
        expected = sorted(
            (
                change
                for state in UNFINISHED_CHANGES
                for change in list_changes(site.store, state=state, golden_id=golden_id, limit=10)
            ),
            key=lambda c: c.created_at,
            reverse=True,
        )[:10]
        issues = site.lookup(f"+86{nsn}")["items"][0]["open_issues"]
        assert [i["change_id"] for i in issues] == [c.change_id for c in expected]
        assert len(issues) == 10 and not set(states["delivered"]) & {i["change_id"] for i in issues}
        assert {i["state"] for i in issues} == {"pending", "failed", "conflict"}
        assert issues[0]["fields"] == ["credit_limit"] and issues[0]["who"] == "editor zhao"
    finally:
        with site.store.begin() as conn:
            conn.execute(outbox_targets.delete().where(outbox_targets.c.change_id.in_(made)))
            conn.execute(outbox.delete().where(outbox.c.change_id.in_(made)))


def test_lookup_phone_card_reads_in_a_handful_of_queries(site: Site) -> None:
    """The screen pop reads a customer's card on one connection in a few queries (the key,
    the phone index, source records with credit, open invoices, orders, concessions, the
    freshness of their streams, the newest orders with their lines, open changes), not one
    per part."""
    _golden_id, nsn = _chinese_mobile(site.store)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(site.store, "before_cursor_execute", seen)
    try:
        assert len(site.lookup(f"+86{nsn}")["items"]) == 1
    finally:
        event.remove(site.store, "before_cursor_execute", seen)
    assert len(statements) <= 10, statements
