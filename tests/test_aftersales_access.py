"""Who may see installed base, service history, campaigns and campaign ROI, and who may
change assets: the scopes of ``api.access`` in crm-hub.yaml, the same mechanism as every
other route; changing the setting changes the answers of the API and the customer page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from sqlalchemy import Engine

from crm_core.access.api_keys import GRANTS, Role, Scope, grants
from schemas.api_settings import DEFAULT_ACCESS, ApiConfig, ScopeName
from schemas.errors import ConfigError
from schemas.settings import HubConfig, load_config
from tests.aftersales_kit import Api, api_over, busiest, world_copy


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubConfig, Engine]]:
    root = Path(tmp_path_factory.getbasetemp())
    target = tmp_path_factory.mktemp("aftersales-access") / "world"
    config, store = world_copy(root, target)
    yield config, store
    store.dispose()


def _with(config: HubConfig, access: dict[str, list[str]]) -> HubConfig:
    api = ApiConfig.model_validate({"access": access})
    return config.model_copy(update={"api": api})


def _status(api: Api, golden_id: str, campaign: str) -> dict[str, dict[str, int]]:
    """The status of each after-sales call for each role."""
    paths = {
        "assets": f"/customers/{golden_id}/assets",
        "service_requests": f"/customers/{golden_id}/service-requests",
        "customer_campaigns": f"/customers/{golden_id}/campaigns",
        "campaigns": "/campaigns",
        "campaign_roi": f"/campaigns/{campaign}/roi",
    }
    return {
        name: {role: api.call(path, role).status_code for role in api.keys}
        for name, path in paths.items()
    }


def test_campaign_asset_and_service_request_scopes_are_the_settings_names() -> None:
    assert {s.value for s in Scope} == set(get_args(ScopeName)) == set(DEFAULT_ACCESS)
    assert GRANTS[Role.ADMIN] == frozenset(Scope)
    assert Scope.CAMPAIGN_ROI in GRANTS[Role.FINANCE]
    assert Scope.CAMPAIGN_ROI not in GRANTS[Role.VIEWER] | GRANTS[Role.EDITOR]
    assert Scope.ASSET_CHANGES in GRANTS[Role.EDITOR]
    assert Scope.AFTERSALES not in GRANTS[Role.OPS]
    # a scope named in api.access has exactly the roles listed; the others keep theirs
    changed = grants(ApiConfig.model_validate({"access": {"campaign_roi": ["viewer"]}}))
    assert Scope.CAMPAIGN_ROI in changed[Role.VIEWER]
    assert Scope.CAMPAIGN_ROI not in changed[Role.FINANCE] | changed[Role.ADMIN]
    assert changed[Role.EDITOR] == GRANTS[Role.EDITOR]


def test_campaign_and_asset_access_by_default(world: tuple[HubConfig, Engine]) -> None:
    config, store = world
    golden_id = busiest(store, "assets")
    with api_over(config, store) as api:
        campaign = api.get("/campaigns")["items"][0]["campaign_id"]
        status = _status(api, golden_id, campaign)
    readers = {"viewer": 200, "editor": 200, "finance": 200, "admin": 200}
    for name in ("assets", "service_requests", "customer_campaigns", "campaigns"):
        assert status[name] == readers, name
    assert status["campaign_roi"] == {"viewer": 403, "editor": 403, "finance": 200, "admin": 200}


def test_campaign_roi_and_asset_access_follow_api_access(world: tuple[HubConfig, Engine]) -> None:
    config, store = world
    golden_id = busiest(store, "assets")
    changed = _with(
        config,
        {"campaign_roi": ["editor", "admin"], "aftersales": ["finance", "admin"]},
    )
    with api_over(changed, store) as api:
        campaign = api.get("/campaigns", role="finance")["items"][0]["campaign_id"]
        status = _status(api, golden_id, campaign)
        # the rest of the customer data is as before
        assert api.call(f"/customers/{golden_id}", "viewer").status_code == 200
        assert api.call(f"/customers/{golden_id}/credit", "editor").status_code == 403
    for name in ("assets", "service_requests", "customer_campaigns", "campaigns"):
        assert status[name] == {"viewer": 403, "editor": 403, "finance": 200, "admin": 200}, name
    assert status["campaign_roi"] == {"viewer": 403, "editor": 200, "finance": 403, "admin": 200}


def test_asset_changes_follow_api_access(world: tuple[HubConfig, Engine]) -> None:
    config, store = world
    golden_id = busiest(store, "assets")
    changed = _with(config, {"asset_changes": ["admin"]})
    with api_over(changed, store) as api:
        asset = api.get(f"/customers/{golden_id}/assets")["items"][0]["asset_id"]
        path = f"/customers/{golden_id}/assets/{asset}"

        def patch(role: str) -> int:
            headers = {"Authorization": f"Bearer {api.keys[role]}"}
            body = {"install_site": f"site of {role}"}
            return int(api.client.patch(path, json=body, headers=headers).status_code)

        assert patch("editor") == 403
        assert patch("admin") == 202
        # customer contact changes (scope changes) are untouched by the asset setting
        headers = {"Authorization": f"Bearer {api.keys['editor']}"}
        contact = api.client.patch(
            f"/customers/{golden_id}", json={"phone": "+86 21 5555 0199"}, headers=headers
        )
        assert contact.status_code == 202, contact.text


def test_asset_panels_on_the_customer_page_follow_api_access(
    world: tuple[HubConfig, Engine],
) -> None:
    config, store = world
    golden_id = busiest(store, "assets")
    for access, shown in (({}, True), ({"aftersales": ["admin"]}, False)):
        with api_over(_with(config, access), store) as api:
            api.client.cookies.set("crmhub_key", api.keys["viewer"], path="/ui")
            page = api.client.get(f"/ui/customers/{golden_id}?lang=en")
            assert page.status_code == 200
            assert ('id="assets"' in page.text) is shown, access
            assert ('id="campaigns"' in page.text) is shown, access


def test_campaign_access_setting_names_an_unknown_scope_or_role(tmp_path: Path) -> None:
    path = tmp_path / "crm-hub.yaml"
    path.write_text("api: {access: {campaign_roi: [finance, admin]}}\n", encoding="utf-8")
    assert load_config(path).api.roles_of("campaign_roi") == {"finance", "admin"}
    for text, named in (
        ("api: {access: {campaign_money: [finance]}}\n", "campaign_money"),
        ("api: {access: {campaign_roi: [accountant]}}\n", "campaign_roi"),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_config(path)
        message = str(err.value) + " ".join(getattr(err.value, "problems", []) or [])
        assert "api.access" in message and named in message, message
