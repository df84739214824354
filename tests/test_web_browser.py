"""The customer-360 page in a real browser: headless Chromium (Debian's ``chromium``,
driven by Playwright) against a real ``crm-hub serve`` on the demo store. Records an
approved concession as an editor and sees it pending in the Concessions panel; searches
by a Chinese name and by pinyin, opens the customer, checks orders, credit and
receivables against the store, corrects a field as an editor and is refused as a viewer;
opens the ops page as ops after a push-back run with a conflict. Keeps screenshots of
the main pages in ``docs/``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm_core.access.api_keys import Role, create_key
from crm_core.api import service
from crm_core.api.service.views import SummaryStatus
from crm_core.api.web.i18n import EN, MESSAGES
from crm_core.identity.config import DEFAULT_FILE, MatchConfig, load_match_config
from crm_core.pull.sync import SyncEngine
from crm_core.pushback import submit
from crm_core.pushback.deliver import push_back
from crm_core.store.tables import golden_customers, outbox, source_links
from schemas.pushback import PushState
from schemas.reconcile import RULES
from tests import pushback_kit as kit
from tests.api_kit import AS_OF, demo_copy
from tests.browser_kit import CHROMIUM, chromium, serving

#: where the screenshots go: docs/ with CRM_HUB_SCREENSHOTS=1 (so a test run does not
#: change committed files), else the test's temporary folder
DOCS = Path(__file__).resolve().parent.parent / "docs"
CHINESE = "青岛金桥纺织有限公司"
PINYIN = "qingdao jinqiao"
HOLD = "G00000047"
#: the screenshots' frame: header, golden record, orders, credit and receivables
SHOTS = (
    "web-search.png",
    "web-customer-zh.png",
    "web-customer-en.png",
    "web-concession-en.png",
    "web-ops.png",
)
TOP = {"x": 0, "y": 0, "width": 1280, "height": 1900}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, dict, Any, Path]]:
    """``crm-hub serve`` on a copy of the demo store: (base URL, store, key per role, the
    config, the demo's folder)."""
    root = Path(tmp_path_factory.getbasetemp())
    workdir = tmp_path_factory.mktemp("web_browser") / "demo"
    config, store = demo_copy(root, workdir)
    keys = {role: create_key(store, role, f"{role.value} wang")[1] for role in Role}
    try:
        with serving(workdir) as base:
            yield base, store, keys, config, workdir
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _sign_in(
    browser, base: str, key: str, lang: str, tz: str = "Asia/Shanghai", landing: str = "/ui/search"
):
    context = browser.new_context(
        locale=lang, timezone_id=tz, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{base}/ui/login?lang={lang}")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{landing}")
    return page


def test_web_page_in_chromium_concession_search_correct_and_ops(
    served, browser, tmp_path: Path
) -> None:
    base, store, keys, config, workdir = served
    shots = DOCS if os.environ.get("CRM_HUB_SCREENSHOTS") == "1" else tmp_path
    _record_a_concession_as_editor(browser, base, store, keys, shots)
    page = _sign_in(browser, base, keys[Role.ADMIN], "zh-CN")
    cookie = {c["name"]: c for c in page.context.cookies()}["crmhub_key"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    # the script tells the server the reader's zone once (and reloads): the footer says so
    page.wait_for_selector("footer:has-text('Asia/Shanghai')")

    page.fill("input[name=q]", CHINESE)
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(f"a[href='/ui/customers/{HOLD}']")
    page.fill("input[name=q]", PINYIN)
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**q=qingdao*")
    assert "找到 2 个客户" in page.inner_text("#found")
    assert page.locator(f"a[href='/ui/customers/{HOLD}']").inner_text() == CHINESE
    page.screenshot(path=str(shots / "web-search.png"), clip={**TOP, "height": 400})

    page.click(f"text={CHINESE}")
    page.wait_for_url(f"{base}/ui/customers/{HOLD}")
    page.goto(f"{base}/ui/customers/{HOLD}?as_of={AS_OF.isoformat()}")
    assert page.inner_text("#customer-name") == CHINESE
    assert page.inner_text("#credit-status") == "信用：信用冻结"
    orders = service.orders(store, HOLD, limit=50)
    shown = page.locator("#orders tr[data-order]").all_inner_texts()
    assert [row.split("\t")[0] for row in shown] == [o.order_id for o in orders.items]
    first = orders.items[0]
    assert f"¥{first.total_amount:,.2f}" in shown[0] and "已开票" in shown[0]
    credit = service.credit(store, HOLD).profiles[0]
    assert f"¥{credit.credit_limit:,.2f}" in page.inner_text("#credit .credit-limit")
    assert credit.hold_reason == "overdue" and "逾期未付" in page.inner_text("#credit")
    recv = service.receivables(store, HOLD, as_of=AS_OF)
    assert f"¥{recv.balances[0].balance:,.2f}" in page.inner_text("#receivables .balance")
    invoices = page.locator("#receivables tr[data-invoice]").all_inner_texts()
    assert [row.split("\t")[0] for row in invoices] == [i.invoice_id for i in recv.open_items]
    assert "待推送" in page.inner_text("#concessions")
    page.screenshot(path=str(shots / "web-customer-zh.png"), full_page=True, clip=TOP)
    page.click("a[lang=en]")
    page.wait_for_selector("text=Golden record")
    assert page.inner_text("#credit-status") == "Credit: On hold"
    page.screenshot(path=str(shots / "web-customer-en.png"), full_page=True, clip=TOP)
    page.context.close()

    editor = _sign_in(browser, base, keys[Role.EDITOR], "en")
    editor.goto(f"{base}/ui/customers/{HOLD}")
    assert not editor.is_visible("#field")  # the form's section is closed ...
    editor.click("nav.tabs a[href='#correct']")  # ... and its link opens it
    editor.select_option("#field", "email")
    editor.fill("#value", "buyer@jinqiao-fz.cn")
    editor.fill("#note", "customer called")
    editor.click("#correct button[type=submit]")
    editor.wait_for_selector("#notice")
    assert "Saved: E-mail is now “buyer@jinqiao-fz.cn”" in editor.inner_text("#notice")
    assert editor.inner_text("#golden-email") == "buyer@jinqiao-fz.cn"
    with store.connect() as conn:
        email = conn.execute(
            select(golden_customers.c.email).where(golden_customers.c.golden_id == HOLD)
        ).scalar_one()
    assert email == "buyer@jinqiao-fz.cn"
    editor.context.close()

    viewer = _sign_in(browser, base, keys[Role.VIEWER], "en")
    viewer.goto(f"{base}/ui/customers/{HOLD}#correct")
    assert viewer.locator("#credit").count() == 0 and viewer.locator("#receivables").count() == 0
    assert "your role is viewer" in viewer.inner_text("#correct-refused")
    # the form is not shown; posting it anyway (same cookie) is refused
    refused = viewer.request.post(
        f"{base}/ui/customers/{HOLD}/correct", form={"field": "email", "value": "x@y.cn"}
    )
    assert refused.status == 403 and "Refused: your role (viewer)" in refused.text()
    # support sees the concession sales recorded, with its approver and state
    assert "Anna Schmidt" in viewer.inner_text("#concessions")
    assert viewer.locator("#concession-form form").count() == 0
    refused = viewer.request.post(
        f"{base}/ui/customers/{HOLD}/concessions",
        form={"kind": "percent", "percent": "5", "reason": "x", "approver": "y"},
    )
    assert refused.status == 403 and "Refused: your role (viewer)" in refused.text()
    viewer.context.close()

    _open_ops_page_after_a_push_with_a_conflict(browser, base, store, keys, config, workdir, shots)
    assert all((shots / name).stat().st_size > 10_000 for name in SHOTS)


def _record_a_concession_as_editor(browser, base: str, store, keys: dict, shots: Path) -> None:
    """The seed's story on the page: sales records a manager-approved concession; it is
    in the outbox under the editor's name and in the Concessions panel, pending."""
    editor = _sign_in(browser, base, keys[Role.EDITOR], "en")
    editor.goto(f"{base}/ui/customers/{HOLD}#concession-form")  # a section's own address
    assert editor.locator("#concession-form").get_attribute("open") is not None
    assert editor.inner_text("#concessions").endswith("No concessions.")
    # the form shows the amount or the percentage, as the kind says
    editor.select_option("#c-kind", "percent")
    assert editor.is_visible("#c-percent") and not editor.is_visible("#c-amount")
    editor.select_option("#c-kind", "amount")
    assert editor.is_visible("#c-amount") and not editor.is_visible("#c-percent")
    editor.fill("#c-amount", "3,500")
    editor.fill("#c-currency", "CNY")
    editor.fill("#c-reason", "late delivery of order 100369")
    editor.fill("#c-approver", "Anna Schmidt")
    editor.fill("#c-from", "2026-11-20")
    editor.fill("#c-to", "2026-12-31")
    editor.click("#concession-form button[type=submit]")
    editor.wait_for_selector("#notice")
    notice = editor.inner_text("#notice")
    assert notice.startswith("Recorded: concession CRM-") and "Pending, by editor wang" in notice
    with store.connect() as conn:
        change = (
            conn.execute(select(outbox).where(outbox.c.entity == "concessions")).mappings().one()
        )
    assert change["golden_id"] == HOLD and change["who"] == "editor wang"
    assert change["state"] == "pending" and change["change_id"] in notice
    row = editor.locator(f"#concessions tr[data-concession='{change['record_key']}']")
    assert row.locator(".push-state").inner_text() == "Pending"
    assert "CN¥3,500.00" in row.inner_text() and "Anna Schmidt" in row.inner_text()
    assert editor.locator(f"#pending tr[data-change='{change['change_id']}']").count() == 1
    top = editor.locator("#pending").bounding_box()
    assert top is not None
    height = int(top["y"] + top["height"]) + 16
    editor.screenshot(
        path=str(shots / "web-concession-en.png"), full_page=True, clip={**TOP, "height": height}
    )
    editor.context.close()


def _open_ops_page_after_a_push_with_a_conflict(
    browser, base: str, store, keys: dict, config, workdir: Path, shots: Path
) -> None:
    """A phone changed in the CRM and in the ERP in one cycle: the push-back run writes
    the concession and records the conflict; a contact change meets an unreachable ERP
    and becomes a dead letter, a pull of it fails, and an order of an unknown customer is
    quarantined. The ops page shows all of it."""
    other = "G00000039"
    with store.connect() as conn:
        legacy_key = conn.execute(
            select(source_links.c.source_key).where(
                source_links.c.golden_id == other, source_links.c.source == "legacy_erp"
            )
        ).scalar_one()
    submit.change_fields(
        store, config, entity="customers", golden_id=other,
        values={"phone": "+86 532 8000 0001"}, who="editor wang",
    )  # fmt: skip
    kit.legacy_exec(
        workdir / "crm-hub.yaml",
        "UPDATE RCM SET CPHON = '0532-6666-0202', CCHGD = 20261122, CCHGT = 101500 "
        "WHERE rtrim(CCUST) = :k",
        k=str(legacy_key).strip(),
    )
    result = push_back(config, store)
    assert result.conflicts == 1 and result.delivered == 1
    submit.change_fields(
        store, config, entity="customers", golden_id="G00000040",
        values={"email": "ap@example.cn"}, who="editor wang",
    )  # fmt: skip
    gone = config.model_copy(deep=True)
    gone.push_back.max_attempts, gone.push_back.backoff_seconds = 1, 0
    gone.sources["legacy_erp"].url = f"sqlite:///{workdir / 'moved' / 'erp.db'}"
    assert push_back(gone, store).failed == 1
    assert SyncEngine(gone, store).sync_source("legacy_erp", ["customers"])[0].status == "failed"
    kit.legacy_exec(
        workdir / "crm-hub.yaml",
        "INSERT INTO ECH VALUES (199999, 'C999999', 126326, 20261130, 'E', 'CNY', 100000, "
        "20261122, 120000)",
    )
    SyncEngine(config, store).sync_source("legacy_erp", ["orders"])

    ops = _sign_in(browser, base, keys[Role.OPS], "zh-CN", landing="/ui/ops")
    assert ops.locator("#nav-ops").count() == 1 and ops.locator("#nav-search").count() == 0
    assert "push_back" in ops.inner_text("#runs") and "回写" in ops.inner_text("#runs")
    conflict = ops.inner_text("#open-conflicts")
    assert other in conflict and "0532-6666-0202" in conflict and "人工处理" in conflict
    assert "ap@example.cn" not in ops.inner_text("#dead-letters")  # names the fields only
    assert "邮箱" in ops.inner_text("#dead-letters")
    assert "C999999" in ops.inner_text("#quarantine")
    # the pull that could not reach the moved ERP, and the push-back run with a dead letter
    assert ops.locator("#runs tr.run-failed").count() == 2
    ops.screenshot(path=str(shots / "web-ops.png"), full_page=True)
    ops.context.close()


#: The hub's own codes a reader must never see raw: survivorship rules, match rules and
#: how a link was made, order, credit, push and concession states, hold reasons, payment
#: terms and the demo's source names, as the store holds them.
RAW_CODES = (
    *RULES,
    *(f"rule:{r.name}" for c in (load_match_config(DEFAULT_FILE), MatchConfig())
      for r in c.deterministic),
    "single", "model", "pin", "manual:merge", "manual:unmerge",
    "entered", "confirmed", "in_production", "shipped", "invoiced", "cancelled",
    *SummaryStatus.__args__, "on_hold", *(s.value for s in PushState), "approved", "booked",
    "days_0_30", "days_31_60", "days_61_90", "days_over_90",
    "overdue", "over credit limit", "manual hold",
    "net 30 days", "net 45 days", "net 60 days", "cash on delivery", "prepaid", "30 Days",
    "legacy_erp", "modern_erp", "rest_erp",
)  # fmt: skip
#: what an untranslated value of Python or JSON looks like on a page
FALLBACKS = ("True", "False", "None", "null", "undefined", "nan", "NaN")


def _english_labels() -> list[str]:
    """The page's English words and short labels (no placeholders, letters only), e.g.
    "Overdue", "Golden record", "Pending": none belongs on a Chinese page."""
    labels = {
        text
        for text in MESSAGES[EN].values()
        if "{" not in text and re.fullmatch(r"[A-Za-z][A-Za-z ]{2,30}", text)
    }
    return sorted(labels - {"English"})  # the language switch names English in English


def test_zh_cn_customer_page_shows_no_raw_code_and_no_english(served, browser) -> None:
    """A Chinese reader's customer page (every section opened): no code of the hub's
    vocabularies, no English label, no Python/JSON fallback; sources by their Chinese
    names, phones in China's national format, hold reason and terms in Chinese."""
    base, store, keys, _config, _workdir = served
    page = _sign_in(browser, base, keys[Role.ADMIN], "zh-CN")
    page.goto(f"{base}/ui/customers/{HOLD}?as_of={AS_OF.isoformat()}")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    text = page.inner_text("main")
    found = [
        code for code in RAW_CODES if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text)
    ]
    assert not found, found
    english = [w for w in _english_labels() if re.search(rf"\b{re.escape(w)}\b", text)]
    assert not english, english
    assert not [w for w in FALLBACKS if re.search(rf"\b{w}\b", text)]
    assert "旧版ERP（AS/400）" in page.inner_text("#sources")
    assert "逾期未付" in page.inner_text("#summary-hold")
    terms = page.inner_text("#credit .terms")  # the canonical code's Chinese label
    assert terms and "NET" not in terms and "net" not in terms.lower() and "天" in terms
    golden = service.detail(store, HOLD).phone
    assert golden and page.inner_text("#golden-phone").startswith("0")  # national: 0532 …
    # the section links: one address per section, and following one opens it
    page.goto(f"{base}/ui/customers/{HOLD}#sources")
    assert page.locator("#sources").get_attribute("open") is not None
    page.click("nav.tabs a[href='#insights']")
    # opened by the page's script on hashchange: wait for it (fails after 5 s)
    page.wait_for_function("document.querySelector('#insights').open", timeout=5000)
    page.context.close()
