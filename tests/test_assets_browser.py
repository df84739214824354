"""The installed-base, service and campaign panels of the customer page in a real browser
(Debian's chromium driven by Playwright against ``crm-hub serve``), as a viewer, in
Chinese and English; with CRM_HUB_SCREENSHOTS=1 it refreshes their screenshots in docs/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm_core.access.api_keys import create_key
from crm_core.api.service.campaigns import campaigns_of
from crm_core.api.service.installed_base import assets_of
from crm_core.api.service.service_history import service_requests_of
from crm_core.store.tables import golden_customers
from schemas.campaign_settings import CampaignSettings
from tests.aftersales_kit import AS_OF, world_copy
from tests.browser_kit import CHROMIUM, chromium, serving
from tests.test_web_browser import DOCS, _sign_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]
SHOTS = ("web-aftersales-zh.png", "web-aftersales-en.png")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, str]]:
    """``crm-hub serve`` on a copy of the synced world: (base URL, store, viewer key)."""
    root = Path(tmp_path_factory.getbasetemp())
    workdir = tmp_path_factory.mktemp("assets_browser") / "world"
    _config, store = world_copy(root, workdir)
    viewer = create_key(store, "viewer", "viewer li")[1]
    try:
        with serving(workdir) as base:
            yield base, store, viewer
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _richest(store: Any) -> str:
    """A customer with assets, service requests and campaign touches (most tickets)."""
    with store.connect() as conn:
        ids = conn.execute(select(golden_customers.c.golden_id)).scalars().all()
    best, most = "", -1
    for golden_id in ids:
        service = service_requests_of(store, golden_id, as_of=AS_OF)
        if not service.items or not campaigns_of(store, golden_id, CampaignSettings()):
            continue
        if assets_of(store, golden_id, as_of=AS_OF).items and len(service.items) > most:
            best, most = golden_id, len(service.items)
    assert best, "the world has a customer with assets, tickets and campaign touches"
    return best


def test_assets_service_request_and_campaign_panels_in_chromium(
    served: tuple[str, Any, str], browser: Any, tmp_path: Path
) -> None:
    base, store, viewer = served
    shots = DOCS if os.environ.get("CRM_HUB_SCREENSHOTS") == "1" else tmp_path
    golden_id = _richest(store)
    assets = assets_of(store, golden_id, as_of=AS_OF)
    service = service_requests_of(store, golden_id, as_of=AS_OF)
    for lang, shot in (("zh-CN", SHOTS[0]), ("en", SHOTS[1])):
        page = _sign_in(browser, base, viewer, lang)
        page.goto(f"{base}/ui/customers/{golden_id}?as_of={AS_OF.isoformat()}&lang={lang}")
        rows = page.locator("#assets tbody tr")
        assert rows.count() == len(assets.items)
        serials = page.locator("#assets tbody td.mono").all_inner_texts()
        assert {s.split("\n")[0] for s in serials} == {a.serial_number for a in assets.items}
        assert page.locator("#service tbody tr").count() == min(20, len(service.items))
        summary = page.locator("#service-summary").inner_text()
        assert str(service.summary.open) in summary
        assert page.locator("#campaigns tbody tr").count() >= 1
        top = page.locator("#assets").bounding_box()
        bottom = page.locator("#campaigns").bounding_box()
        assert top is not None and bottom is not None
        height = bottom["y"] + bottom["height"] - top["y"] + 16
        page.screenshot(
            path=str(shots / shot),
            full_page=True,
            clip={"x": 0, "y": top["y"] - 8, "width": 1280, "height": min(height, 2400)},
        )
        page.context.close()
    assert all((shots / s).stat().st_size > 10_000 for s in SHOTS)
