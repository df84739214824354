"""The customer-360 page in a real browser: headless Chromium (Debian's ``chromium``,
driven by Playwright) against a real ``crm-hub serve`` on the demo store. Searches by a
Chinese name and by pinyin, opens the customer, checks orders, credit and receivables
against the store, corrects a field as an editor and is refused as a viewer. Keeps
screenshots of the main pages in ``docs/``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_core.api import service
from crm_core.api_keys import Role, create_key
from crm_core.store.tables import golden_customers
from tests.api_store import AS_OF, demo_copy
from tests.test_api_serve import _free_port, _wait_for
from tests.test_cli import CLI

CHROMIUM = Path("/usr/bin/chromium")
#: where the screenshots go: docs/ with CRM_HUB_SCREENSHOTS=1 (so a test run does not
#: change committed files), else the test's temporary folder
DOCS = Path(__file__).resolve().parent.parent / "docs"
CHINESE = "青岛金桥纺织有限公司"
PINYIN = "qingdao jinqiao"
HOLD = "G00000047"
#: the screenshots' frame: header, golden record, orders, credit and receivables
SHOTS = ("web-search.png", "web-customer-zh.png", "web-customer-en.png")
TOP = {"x": 0, "y": 0, "width": 1280, "height": 1700}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object, dict]]:
    """``crm-hub serve`` on a copy of the demo store: (base URL, store, key per role)."""
    root = Path(tmp_path_factory.getbasetemp())
    workdir = tmp_path_factory.mktemp("web_browser") / "demo"
    _config, store = demo_copy(root, workdir)
    keys = {role: create_key(store, role, f"{role.value} wang")[1] for role in Role}
    port, log = _free_port(), workdir / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "CRM_HUB_DATABASE_URL"}
    with log.open("w") as out:
        server = subprocess.Popen(
            [*CLI, "--config", str(workdir / "crm-hub.yaml"), "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield _wait_for(server, f"http://127.0.0.1:{port}", log), store, keys
        finally:
            server.terminate()
            server.wait(timeout=20)
            store.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def _sign_in(browser, base: str, key: str, lang: str, tz: str = "Asia/Shanghai"):
    context = browser.new_context(
        locale=lang, timezone_id=tz, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{base}/ui/login?lang={lang}")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/search")
    return page


def test_web_page_in_chromium_search_open_and_correct(served, browser, tmp_path: Path) -> None:
    base, store, keys = served
    shots = DOCS if os.environ.get("CRM_HUB_SCREENSHOTS") == "1" else tmp_path
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
    assert credit.hold_reason and credit.hold_reason in page.inner_text("#credit")
    recv = service.receivables(store, HOLD, as_of=AS_OF)
    assert f"¥{recv.balances[0].balance:,.2f}" in page.inner_text("#receivables .balance")
    invoices = page.locator("#receivables tr[data-invoice]").all_inner_texts()
    assert [row.split("\t")[0] for row in invoices] == [i.invoice_id for i in recv.open_items]
    page.screenshot(path=str(shots / "web-customer-zh.png"), full_page=True, clip=TOP)
    page.click("a[lang=en]")
    page.wait_for_selector("text=Golden record")
    assert page.inner_text("#credit-status") == "Credit: On hold"
    page.screenshot(path=str(shots / "web-customer-en.png"), full_page=True, clip=TOP)
    assert all((shots / name).stat().st_size > 10_000 for name in SHOTS)
    page.context.close()

    editor = _sign_in(browser, base, keys[Role.EDITOR], "en")
    editor.goto(f"{base}/ui/customers/{HOLD}")
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
    viewer.goto(f"{base}/ui/customers/{HOLD}")
    assert viewer.locator("#credit").count() == 0 and viewer.locator("#receivables").count() == 0
    assert "your role is viewer" in viewer.inner_text("#correct-refused")
    # the form is not shown; posting it anyway (same cookie) is refused
    refused = viewer.request.post(
        f"{base}/ui/customers/{HOLD}/correct", form={"field": "email", "value": "x@y.cn"}
    )
    assert refused.status == 403 and "Refused: your role (viewer)" in refused.text()
    viewer.context.close()
