"""The installed base: the legacy ERP's serial-number file through its mapping, contract
and store into ``GET /customers/{id}/assets``, warranty and contract states, renewal
opportunities."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from crm_core.api.service.installed_base import (
    EXPIRING_DAYS,
    asset_view,
    contract_state,
    warranty_state,
)
from crm_core.store.tables import RECORD_TABLES
from sample_erps.legacy_erp_schema import ISN
from tests.aftersales_kit import AS_OF, Api, api_over, busiest, keys_of, world_copy

ASSETS = RECORD_TABLES["assets"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Api]]:
    root = Path(tmp_path_factory.getbasetemp())
    target = tmp_path_factory.mktemp("assets") / "world"
    config, store = world_copy(root, target)
    with api_over(config, store) as api:
        yield target, api
    store.dispose()


def _serial_file(workdir: Path) -> list[Any]:
    erp = create_engine(f"sqlite:///{workdir / 'legacy_erp.db'}")
    try:
        with erp.connect() as conn:
            return conn.execute(select(ISN)).all()
    finally:
        erp.dispose()


def test_asset_warranty_and_contract_states_by_day() -> None:
    day = date(2026, 6, 1)
    soon = day + timedelta(days=EXPIRING_DAYS)
    assert warranty_state(None, day) == "unknown"
    assert warranty_state(day - timedelta(days=1), day) == "expired"
    assert warranty_state(soon, day) == "expiring"
    assert warranty_state(soon + timedelta(days=1), day) == "in_warranty"
    assert contract_state(None, soon, day) == "none"
    assert contract_state("SC1", None, day) == "active"
    assert contract_state("SC1", day - timedelta(days=1), day) == "expired"
    assert contract_state("SC1", soon, day) == "expiring"


@pytest.mark.parametrize(
    ("warranty_days", "contract", "contract_days", "status", "opportunity"),
    [
        (30, None, None, "in_service", True),  # expiring warranty, no contract
        (30, "SC1", -5, "in_service", True),  # the contract ended
        (30, "SC1", 400, "in_service", False),  # a contract in force
        (400, None, None, "in_service", False),  # warranty far from its end
        (-10, None, None, "in_service", False),  # warranty over already
        (30, None, None, "scrapped", False),  # not in service
    ],
)
def test_asset_renewal_opportunity_is_an_expiring_warranty_without_a_contract(
    warranty_days: int,
    contract: str | None,
    contract_days: int | None,
    status: str,
    opportunity: bool,
) -> None:
    day = date(2026, 6, 1)
    row = {c.name: None for c in ASSETS.columns}
    row.update(
        source="legacy_erp",
        asset_id="MTR26000001",
        customer_id="C1",
        item_id="MTR0001-10",
        status=status,
        warranty_end=day + timedelta(days=warranty_days),
        service_contract_id=contract,
        service_contract_end=None if contract_days is None else day + timedelta(contract_days),
    )
    assert asset_view(row, day).renewal_opportunity is opportunity


def test_asset_stream_loads_the_legacy_serial_file_with_its_codes_and_dates(
    world: tuple[Path, Api],
) -> None:
    workdir, api = world
    isn = {r.SSER.strip(): r for r in _serial_file(workdir)}
    with api.store.connect() as conn:
        stored = {r.asset_id: r for r in conn.execute(select(ASSETS))}
    assert len(isn) > 50 and set(stored) == set(isn)
    for serial, raw in isn.items():
        row = stored[serial]
        assert row.customer_id == raw.SCUST.strip() and row.serial_number == serial
        assert (row.installed_on is None) == (int(raw.SINDT) == 0)
        assert (row.install_site is None) == (raw.SSITE.strip() == "")
        assert (row.parent_asset_id or "") == raw.SPAR.strip()
        assert row.status == {"A": "in_service", "R": "returned", "S": "scrapped"}[raw.SSTAT]
        assert row.quantity * 1000 == int(raw.SQTY)
    assert any(r.parent_asset_id for r in stored.values())  # motors that are part of a pump


def test_asset_list_for_a_viewer_is_the_customer_s_serial_numbers(world: tuple[Path, Api]) -> None:
    workdir, api = world
    golden_id = busiest(api.store, "assets")
    body = api.get(f"/customers/{golden_id}/assets", role="viewer", as_of=AS_OF.isoformat())
    keys = {key for source, key in keys_of(api.store, golden_id) if source == "legacy_erp"}
    expected = {r.SSER.strip() for r in _serial_file(workdir) if r.SCUST.strip() in keys}
    assert body["items"] and {i["serial_number"] for i in body["items"]} == expected
    shipped = [i["shipped_on"] for i in body["items"]]
    assert shipped == sorted(shipped, reverse=True)
    summary = body["summary"]
    assert summary["in_service"] == sum(i["status"] == "in_service" for i in body["items"])
    assert summary["renewal_opportunities"] == sum(i["renewal_opportunity"] for i in body["items"])
    assert summary["expiring_within_days"] == EXPIRING_DAYS


def test_asset_list_of_an_unknown_customer_is_404(world: tuple[Path, Api]) -> None:
    _workdir, api = world
    assert api.call("/customers/G77777777/assets").status_code == 404


def test_asset_install_site_and_contract_renewal_go_back_to_the_legacy_erp(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from crm_core.pull.sync import SyncEngine
    from crm_core.pushback.deliver import push_back
    from mappings.legacy_dates import yyyymmdd

    workdir = tmp_path / "world"
    config, store = world_copy(Path(tmp_path_factory.getbasetemp()), workdir)
    try:
        with api_over(config, store) as api:
            golden_id = busiest(store, "assets")
            asset = api.get(f"/customers/{golden_id}/assets")["items"][0]
            path = f"/customers/{golden_id}/assets/{asset['asset_id']}"
            headers = {"Authorization": f"Bearer {api.keys['editor']}"}
            site = api.client.patch(path, json={"install_site": "上海 三号车间"}, headers=headers)
            assert site.status_code == 202, site.text
            assert site.json()["changes"]["install_site"]["new"] == "上海 三号车间"
            new_end = date(2029, 3, 31)
            renewal = api.client.post(
                f"{path}/contract-renewals",
                json={"service_contract_end": new_end.isoformat(), "service_contract_id": "SC-R1"},
                headers=headers,
            )
            assert renewal.status_code == 202, renewal.text
            viewer = {"Authorization": f"Bearer {api.keys['viewer']}"}
            refused = api.client.patch(path, json={"install_site": "x"}, headers=viewer)
            assert refused.status_code == 403
            unknown = api.client.patch(
                f"/customers/{golden_id}/assets/NOT-HIS",
                json={"install_site": "x"},
                headers=headers,
            )
            assert unknown.status_code == 404
        pushed = push_back(config, store)
        assert pushed.written == 2, pushed
        [row] = [r for r in _serial_file(workdir) if r.SSER.strip() == asset["asset_id"]]
        assert row.SSITE.strip() == "上海 三号车间" and int(row.SCEND) == yyyymmdd(new_end)
        assert row.SCTR.strip() == "SC-R1"
        results = SyncEngine(config, store).sync_source("legacy_erp", streams=["assets"])
        assert results[0].counts.checks.get("echoes") == 2
        with store.connect() as conn:
            stored = conn.execute(
                select(ASSETS).where(ASSETS.c.asset_id == asset["asset_id"])
            ).one()
        assert stored.install_site == "上海 三号车间" and stored.service_contract_end == new_end
    finally:
        store.dispose()


def test_asset_fields_the_crm_does_not_own_are_refused(world: tuple[Path, Api]) -> None:
    from crm_core.pushback import ChangeRejected
    from crm_core.pushback.submit import change_asset
    from schemas.settings import load_config

    workdir, api = world
    config = load_config(workdir / "crm-hub.yaml")
    golden_id = busiest(api.store, "assets")
    asset = api.get(f"/customers/{golden_id}/assets")["items"][0]["asset_id"]
    with pytest.raises(ChangeRejected) as err:
        change_asset(
            api.store,
            config,
            golden_id=golden_id,
            asset_id=asset,
            values={"warranty_end": "2030-01-01"},
            who="wang",
        )
    assert "assets.warranty_end" in str(err.value) and "legacy_erp" in str(err.value)


def test_asset_serial_number_search_finds_the_customer(world: tuple[Path, Api]) -> None:
    from crm_core.api.service.search_index import refresh

    _workdir, api = world
    refresh(api.store, full=True)
    golden_id = busiest(api.store, "assets")
    serial = api.get(f"/customers/{golden_id}/assets")["items"][-1]["serial_number"]
    for q in (serial, serial.lower()):
        found = api.get("/customers", q=q)["items"]
        assert [c["id"] for c in found] == [golden_id]


def test_asset_newly_shipped_is_found_after_the_next_index_round(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from datetime import UTC, datetime

    from crm_core.api.service.search_index import refresh, stale_ids

    config, store = world_copy(Path(tmp_path_factory.getbasetemp()), tmp_path / "world")
    try:
        refresh(store, full=True)
        golden_id = busiest(store, "assets")
        with store.begin() as conn:
            row = dict(conn.execute(select(ASSETS).limit(1)).one()._mapping)
            customer = next(
                k for s, k in keys_of(store, golden_id) if s == "legacy_erp"
            )  # the busiest customer's own record
            row.update(
                asset_id="PMP26NEW0000101",
                serial_number="PMP26NEW0000101",
                customer_id=customer,
                loaded_at=datetime.now(UTC),
            )
            conn.execute(ASSETS.insert().values(**row))
        with store.connect() as conn:
            assert golden_id in stale_ids(conn)
        refresh(store)
        with api_over(config, store) as api:
            found = api.get("/customers", q="pmp26new0000101")["items"]
        assert [c["id"] for c in found] == [golden_id]
    finally:
        store.dispose()
