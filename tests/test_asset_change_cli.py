"""``crm-hub change asset``: an install-site correction and a service contract renewal from
the command line, into the outbox and on to the legacy ERP by ``crm-hub push``, as the API
does it; refusals name the field or the asset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from crm_core.api.service.installed_base import assets_of
from mappings.legacy_dates import yyyymmdd
from sample_erps.legacy_erp_schema import ISN
from tests.aftersales_kit import AS_OF, busiest, world_copy

CLI = [str(Path(sys.executable).with_name("crm-hub"))]


def crm_hub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("CRM_HUB_DATABASE_URL", None)
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_asset_change_cli_help_explains_the_options() -> None:
    result = subprocess.run(
        [*CLI, "change", "asset", "--help"],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for words in ("--install-site", "--contract-end", "--contract-id", "push_back.ownership"):
        assert words in result.stdout, words


def test_asset_change_cli_queues_site_and_renewal_and_push_writes_them(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir, golden_id, asset = _world_with_an_asset(tmp_path, tmp_path_factory)
    site = crm_hub(
        "change", "asset", golden_id, asset, "--install-site", "深圳 二号仓", "--by", "li",
        "--json", cwd=workdir,
    )  # fmt: skip
    assert site.returncode == 0, site.stderr
    body = json.loads(site.stdout)
    assert body["entity"] == "assets" and body["changes"]["install_site"]["new"] == "深圳 二号仓"
    assert [t["target"] for t in body["targets"]] == ["legacy_erp"]
    new_end = date(2029, 6, 30)
    renewal = crm_hub(
        "change", "asset", golden_id, asset, "--contract-end", new_end.isoformat(),
        "--contract-id", "SC-CLI1", "--idempotency-key", "renew-1", "--json", cwd=workdir,
    )  # fmt: skip
    assert renewal.returncode == 0, renewal.stderr
    again = crm_hub(
        "change", "asset", golden_id, asset, "--contract-end", new_end.isoformat(),
        "--contract-id", "SC-CLI1", "--idempotency-key", "renew-1", "--json", cwd=workdir,
    )  # fmt: skip
    # the same idempotency key records the change once
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["change_id"] == json.loads(renewal.stdout)["change_id"]
    pushed = crm_hub("push", cwd=workdir)
    assert pushed.returncode == 0, pushed.stderr
    erp = create_engine(f"sqlite:///{workdir / 'legacy_erp.db'}")
    try:
        with erp.connect() as conn:
            [row] = [r for r in conn.execute(select(ISN)) if r.SSER.strip() == asset]
    finally:
        erp.dispose()
    assert row.SSITE.strip() == "深圳 二号仓"
    assert int(row.SCEND) == yyyymmdd(new_end) and row.SCTR.strip() == "SC-CLI1"


def test_asset_change_cli_refusals_name_the_field_or_the_asset(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir, golden_id, asset = _world_with_an_asset(tmp_path, tmp_path_factory)
    nothing = crm_hub("change", "asset", golden_id, asset, cwd=workdir)
    assert nothing.returncode != 0 and "--install-site" in nothing.stderr
    bad_day = crm_hub(
        "change", "asset", golden_id, asset, "--contract-end", "31.3.2028", cwd=workdir
    )
    assert bad_day.returncode != 0 and "--contract-end" in bad_day.stderr
    alone = crm_hub("change", "asset", golden_id, asset, "--contract-id", "SC-1", cwd=workdir)
    assert alone.returncode != 0 and "--contract-end" in alone.stderr
    other = crm_hub("change", "asset", golden_id, "NOT-HIS", "--install-site", "x", cwd=workdir)
    assert other.returncode != 0 and "NOT-HIS" in other.stderr
    listed = crm_hub("outbox", "list", "--json", cwd=workdir)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []  # nothing recorded


def _world_with_an_asset(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str]:
    """A copy of the demo world, its busiest customer with assets, and one of them."""
    workdir = tmp_path / "world"
    _config, store = world_copy(Path(tmp_path_factory.getbasetemp()), workdir)
    try:
        golden_id = busiest(store, "assets")
        asset = assets_of(store, golden_id, as_of=AS_OF).items[0].asset_id
    finally:
        store.dispose()
    return workdir, golden_id, asset
