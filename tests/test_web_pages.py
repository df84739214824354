"""The customer-360 web page (``/ui``) through FastAPI's TestClient on the demo store:
sign in with a key, search, a customer in Chinese and English, each role's view, a
correction accepted for an editor and refused for a viewer."""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app, service
from crm_core.api.web.formats import Formats, reader_locale, zone
from crm_core.api.web.i18n import EN, MESSAGES, ZH, labeller, pick_language
from crm_core.api.web.vocabulary import rule_label, service_error
from crm_core.identity.config import DEFAULT_FILE, MatchConfig, load_match_config
from crm_core.store.tables import golden_customers
from schemas.reconcile import RULES
from tests.api_kit import AS_OF, demo_copy

CHINESE = "青岛金桥纺织有限公司"
#: the match rules crm-hub ships with and the built-in ones
MATCH_RULES = {
    r.name for c in (load_match_config(DEFAULT_FILE), MatchConfig()) for r in c.deterministic
}
ON_HOLD = "G00000047"  # that customer: on credit hold, two open invoices, 11 orders


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, object, dict]]:
    root = Path(tmp_path_factory.getbasetemp())
    config, store = demo_copy(root, tmp_path_factory.mktemp("web_pages") / "demo")
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {role: create_key(store, role, f"{role.value} lin")[1] for role in Role}
    with TestClient(app, follow_redirects=False) as client:
        yield client, store, keys
    store.dispose()


def _as(client: TestClient, key: str, lang: str = EN) -> TestClient:
    """``client`` signed in with ``key``, reading ``lang``."""
    client.cookies.clear()
    client.cookies.set("lang", lang)
    signed = client.post("/ui/login", data={"key": key})
    # an ops key sees no customers: it lands on the ops page
    assert signed.status_code == 303 and signed.headers["location"] in ("/ui/search", "/ui/ops")
    return client


def _text(page: str) -> str:
    """What a reader sees of an HTML page."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_web_catalogues_have_the_same_messages_and_placeholders() -> None:
    assert MESSAGES[EN].keys() == MESSAGES[ZH].keys()
    fields = string.Formatter()
    for key, text in MESSAGES[EN].items():
        names = {f[1] for f in fields.parse(text) if f[1]}
        assert names == {f[1] for f in fields.parse(MESSAGES[ZH][key]) if f[1]}, key
    assert pick_language(None, None, "zh-TW,zh;q=0.9") == ZH
    assert pick_language(None, "zh-CN", "en-US") == ZH
    assert pick_language("en", "zh-CN", None) == EN


def test_web_formats_money_numbers_and_times_for_the_reader() -> None:
    zh, en = Formats(ZH, zone("Asia/Shanghai")), Formats(EN, zone("America/New_York"))
    assert zh.money(Decimal("301880.4100"), "CNY") == "¥301,880.41"
    assert en.money(Decimal("301880.4100"), "CNY") == "CN¥301,880.41"
    assert en.money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert zh.day(date(2026, 11, 20)) == "2026年11月20日"
    assert en.day(date(2026, 11, 20)) == "Nov 20, 2026"
    evening = datetime(2026, 11, 20, 20, 30, tzinfo=UTC)
    assert zh.moment(evening) == "2026年11月21日 04:30"  # the next morning in Shanghai
    assert en.moment(evening).startswith("Nov 20, 2026 3:30")  # the afternoon in New York
    # English as the browser says: en-GB is day-month-year, never 11/20/26
    gb = Formats(EN, zone("Europe/London"), reader_locale(EN, "en-GB,en;q=0.9"))
    assert gb.day(date(2026, 12, 4)) == "4 Dec 2026"
    assert gb.moment(evening) == "20 Nov 2026 20:30"
    assert reader_locale(EN, "fr-FR,en-US;q=0.8").territory == "US"
    assert reader_locale(ZH, "en-GB") == reader_locale(ZH, None)
    # phones as stored (full-width) are shown for the reader's country: national at home
    stored = "（＋８６） ７５５－５５７３－１７６０"
    assert zh.phone(stored) == "0755 5573 1760"
    assert en.phone(stored) == gb.phone(stored) == "+86 755 5573 1760"
    assert gb.phone("+44 20 7946 0958") == "020 7946 0958"
    assert zh.phone("0532-6666-0202") == "0532 6666 0202"  # no country code: the hub's region
    assert zh.phone("call reception") == "call reception" and zh.phone(None) == ""
    assert str(zone("Mars/Olympus")) == "UTC" and str(zone(None)) == "UTC"


def test_web_shows_the_hubs_codes_in_the_readers_words() -> None:
    for lang in (ZH, EN):
        rule, label = rule_label(lang), labeller(lang)
        shown = [rule(name) for name in (*RULES, "pin", "model", "single", "manual:merge")]
        shown += [rule(f"rule:{name}") for name in MATCH_RULES]
        shown += [label("hold", r) for r in ("overdue", "over credit limit", "manual hold")]
        assert not [s for s in shown if "_" in s or s.islower()], shown
    zh = rule_label(ZH)
    assert zh("most_complete") == "最完整的记录" and zh("rule:same_tax_id") == "税号相同"
    assert zh("rule:local_rule") == "规则“local_rule”"  # a site's own rule: named, marked
    assert labeller(ZH)("hold", "overdue") == "逾期未付"
    refused = "concessions.valid_to: ends before it starts"
    assert service_error(ZH, refused) == "截止日期早于生效日期"
    assert service_error(EN, refused) == refused
    assert service_error(ZH, "email: the value is empty") == "邮箱：值为空"
    assert service_error(ZH, "an error only the ERP knows") == "an error only the ERP knows"


def test_web_pages_need_a_key_and_a_bad_key_is_told_clearly(site) -> None:
    client, _store, keys = site
    client.cookies.clear()
    assert client.get("/ui/search").headers["location"] == "/ui/login"
    assert client.get("/").headers["location"] == "/ui/search"
    for lang, message in ((EN, "This API key is not valid or was revoked"), (ZH, "无效或已被吊销")):
        client.cookies.set("lang", lang)
        refused = client.post("/ui/login", data={"key": "crmhub_000000000000_nope"})
        assert refused.status_code == 401 and message in refused.text
        assert "crmhub_key" not in refused.headers.get("set-cookie", "")
    assert "Enter an API key" in client.post("/ui/login?lang=en", data={"key": " "}).text

    signed = client.post("/ui/login", data={"key": keys[Role.VIEWER]})
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert client.get("/ui/search").status_code == 200
    out = client.post("/ui/logout")
    assert out.headers["location"] == "/ui/login" and 'crmhub_key=""' in out.headers["set-cookie"]
    client.cookies.delete("crmhub_key")
    assert client.get("/ui/search").status_code == 303


@pytest.mark.parametrize(
    "query", [CHINESE, "qingdao jinqiao fangzhi", "jinqiao-fz", "+86 21 6520 4022", "qdjq"]
)
def test_web_search_finds_by_chinese_pinyin_email_and_phone(site, query: str) -> None:
    client, _store, keys = site
    found = _as(client, keys[Role.VIEWER]).get("/ui/search", params={"q": query})
    assert found.status_code == 200
    assert f'href="/ui/customers/{ON_HOLD}">{CHINESE}</a>' in found.text


def test_web_search_page_in_both_languages(site) -> None:
    client, _store, keys = site
    zh = _text(_as(client, keys[Role.VIEWER], ZH).get("/ui/search?q=qingdao").text)
    assert "查找客户" in zh and "找到" in zh and "Find a customer" not in zh
    en = _text(client.get("/ui/search?q=qingdao&lang=en").text)
    assert "Find a customer" in en and "customers found" in en and "查找客户" not in en
    # ?lang= is remembered
    assert "Find a customer" in client.get("/ui/search").text
    none = client.get("/ui/search", params={"q": "zzzqqq"})
    assert "No customer matches “zzzqqq”." in _text(none.text)


def _english_labels() -> set[str]:
    """English messages a Chinese page must not show (those without placeholders)."""
    return {
        text
        for key, text in MESSAGES[EN].items()
        if "{" not in text and len(text) > 3 and text != MESSAGES[ZH][key]
    }


def test_web_customer_page_shows_everything_to_admin_in_both_languages(site) -> None:
    client, store, keys = site
    _as(client, keys[Role.ADMIN], ZH)
    credit = service.credit(store, ON_HOLD)
    recv = service.receivables(store, ON_HOLD, as_of=AS_OF)
    orders = service.orders(store, ON_HOLD, limit=50)

    zh_page = client.get(f"/ui/customers/{ON_HOLD}", params={"as_of": AS_OF.isoformat()})
    assert zh_page.status_code == 200
    assert "default-src 'self'" in zh_page.headers["content-security-policy"]
    zh = _text(zh_page.text)
    for label in (
        "主数据记录",
        "订单",
        "信用额度",
        "应收账款",
        "90 天以上",
        "流失产品",
        "来源记录",
    ):
        assert label in zh
    leaked = {label for label in _english_labels() if label in zh}
    assert not leaked, leaked
    assert "信用：信用冻结" in zh and credit.status == "on_hold"
    assert f"¥{credit.profiles[0].credit_limit:,.2f}" in zh
    assert f"¥{recv.balances[0].balance:,.2f}" in zh
    assert all(f'data-order="{o.order_id}"' in zh_page.text for o in orders.items)
    assert "已开票" in zh and "2026年5月25日" in zh

    en_page = client.get(f"/ui/customers/{ON_HOLD}?lang=en&as_of={AS_OF.isoformat()}")
    en = _text(en_page.text)
    for label in ("Golden record", "Orders", "Limit", "Receivables", "Over 90 days", "Lapsed"):
        assert label in en
    assert "Credit: On hold" in en and f"CN¥{credit.profiles[0].credit_limit:,.2f}" in en
    assert "Invoiced" in en and "May 25, 2026" in en and "主数据记录" not in en
    assert all(f'data-invoice="{i.invoice_id}"' in en_page.text for i in recv.open_items)


def test_web_viewer_never_sees_credit_or_receivables(site) -> None:
    client, store, keys = site
    _as(client, keys[Role.VIEWER])
    page = client.get(f"/ui/customers/{ON_HOLD}?as_of={AS_OF.isoformat()}")
    assert page.status_code == 200 and CHINESE in page.text
    text = _text(page.text)
    balance = service.receivables(store, ON_HOLD, as_of=AS_OF).balances[0].balance
    assert 'id="credit"' not in page.text and 'id="receivables"' not in page.text
    # issue 19: the hold itself is never hidden (the summary), its amounts are
    assert 'id="summary-hold"' in page.text and "On hold" in text
    assert f"{balance:,.2f}" not in text and "Limit" not in text
    assert "Credit and receivables need a finance key; your role is viewer." in text
    assert 'action="/ui/customers/' not in page.text  # no correction form either
    finance = _as(client, keys[Role.FINANCE]).get(f"/ui/customers/{ON_HOLD}")
    assert 'id="credit"' in finance.text and 'action="/ui/customers/' not in finance.text
    ops = _as(client, keys[Role.OPS]).get(f"/ui/customers/{ON_HOLD}")
    assert ops.status_code == 403 and "Your role (ops) may not see customer data." in _text(
        ops.text
    )


def test_web_editor_corrects_a_field_and_a_viewer_is_refused(site) -> None:
    client, store, keys = site
    target = "G00000039"
    _as(client, keys[Role.VIEWER], ZH)
    refused = client.post(f"/ui/customers/{target}/correct", data={"field": "city", "value": "X"})
    assert refused.status_code == 403
    assert "已拒绝：查看者 角色的密钥不能提交变更。" in _text(refused.text)

    _as(client, keys[Role.EDITOR])
    page = client.get(f"/ui/customers/{target}")
    assert f'action="/ui/customers/{target}/correct"' in page.text
    done = client.post(
        f"/ui/customers/{target}/correct",
        data={"field": "phone", "value": "+86 532 8888 0000", "note": "called them"},
    )
    assert done.status_code == 200
    assert "Saved: Phone is now “+86 532 8888 0000”" in _text(done.text)
    with store.connect() as conn:
        phone = conn.execute(
            select(golden_customers.c.phone).where(golden_customers.c.golden_id == target)
        ).scalar_one()
    assert phone == "+86 532 8888 0000"
    bad = client.post(f"/ui/customers/{target}/correct", data={"field": "bogus", "value": "x"})
    assert bad.status_code == 422 and "Not saved: no golden field 'bogus'" in _text(bad.text)


def test_web_unknown_customer_and_static_files(site) -> None:
    client, _store, keys = site
    _as(client, keys[Role.VIEWER])
    missing = client.get("/ui/customers/G12345678")
    assert missing.status_code == 404 and "No customer G12345678." in missing.text
    css, js = client.get("/ui/static/web.css"), client.get("/ui/static/web.js")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert js.status_code == 200 and "resolvedOptions().timeZone" in js.text
    # the page is not in the API's OpenAPI document
    assert not [p for p in client.get("/openapi.json").json()["paths"] if p.startswith("/ui")]


def test_web_times_follow_the_tz_cookie(site) -> None:
    client, store, keys = site
    _as(client, keys[Role.VIEWER])
    updated = service.detail(store, ON_HOLD).updated_at
    assert updated is not None
    client.cookies.set("tz", "Asia/Shanghai")
    shown = client.get(f"/ui/customers/{ON_HOLD}").text
    assert Formats(EN, zone("Asia/Shanghai")).moment(updated) in shown
    assert "Times in Asia/Shanghai" in shown
