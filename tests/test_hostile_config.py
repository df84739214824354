"""Config that would load wrong data with exit 0, tried on purpose: a key given twice in any
YAML the hub reads, a stream the mapping lacks, an unknown source option, an empty config.
``crm-hub check`` finds each with ``file:line`` and exit 2 before anything loads, and
creates nothing: no store file, no tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select

from connectors.base import connector_class
from crm_core.identity.config import load_match_config
from crm_core.store.tables import runs
from mappings import load_mapping
from schemas.contract import CONTRACTS_DIR, load_contract
from schemas.errors import ConfigError, MappingError
from schemas.settings import load_config
from tests import shop_kit

CLI = [str(Path(sys.executable).with_name("crm-hub"))]


def crm_hub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "SHOP_URL": f"sqlite:///{cwd / 'shop.db'}"}
    env.pop("CRM_HUB_DATABASE_URL", None)
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The shop ERP with its mapping and a config whose store does not exist yet."""
    erp = shop_kit.create(f"sqlite:///{tmp_path / 'shop.db'}")
    shop_kit.add_customers(erp, [("C1", "Ada", "ada@example.com", shop_kit.T0)])
    shop_kit.add_orders(erp, 5)
    erp.dispose()
    shop_kit.write_files(tmp_path, "sqlite:///store.db")
    return tmp_path


def _line(path: Path, text: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line of ``path`` that contains ``text``."""
    lines = [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return lines[nth - 1]


def _no_store(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.startswith("store.db")]


def test_hostile_config_duplicate_key_in_a_mapping_is_refused_by_check(folder: Path) -> None:
    mapping = folder / "shop.yaml"
    text = mapping.read_text().replace(
        "      customer_id: customer_id\n",
        "      customer_id: customer_id\n      status: status\n      customer_id: id\n",
    )
    mapping.write_text(text)
    first = _line(mapping, "customer_id: customer_id")
    second = _line(mapping, "customer_id: id", 2)  # the customers stream has one too
    out = crm_hub("check", cwd=folder)
    assert out.returncode == 2, out.stdout + out.stderr
    assert (
        f"{mapping}:{second}: duplicate key 'customer_id' on line {first} and line {second}"
        in out.stderr
    ), out.stderr
    synced = crm_hub("sync", cwd=folder)
    assert synced.returncode == 2 and "duplicate key 'customer_id'" in synced.stderr
    assert not (folder / "store.db").exists() or not _runs(folder)


def test_hostile_config_duplicate_key_in_every_yaml_the_hub_reads(
    folder: Path, tmp_path: Path
) -> None:
    config = folder / "crm-hub.yaml"
    config.write_text(
        config.read_text()
        + "      customers: {table: shop_orders, primary_key: [id], cursor: [updated_at]}\n"
    )
    first, second = _line(config, "customers: {"), _line(config, "customers: {", 2)
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert f"{config}:{second}: duplicate key 'customers' on line {first} and line {second}" in str(
        info.value
    )

    mapping = folder / "shop.yaml"
    mapping.write_text(mapping.read_text().replace("timezone: UTC\n", "timezone: UTC\nsystem: x\n"))
    with pytest.raises(MappingError, match=r"shop.yaml:3: duplicate key 'system' on line 1 "):
        load_mapping(mapping)

    contracts = tmp_path / "contracts"
    contracts.mkdir()
    text = (CONTRACTS_DIR / "orders.yaml").read_text()
    (contracts / "orders.yaml").write_text(text + "entity: orders\n")
    with pytest.raises(ConfigError, match=r"orders.yaml:\d+: duplicate key 'entity' on line \d+"):
        load_contract("orders", contracts)

    rules = tmp_path / "match.yaml"
    rules.write_text("threshold: 0.9\nthreshold: 0.5\n")
    with pytest.raises(ConfigError, match=r"match.yaml:2: duplicate key 'threshold' on line 1"):
        load_match_config(rules)


def test_hostile_config_merge_keys_and_equal_values_elsewhere_stay_allowed(folder: Path) -> None:
    config = folder / "crm-hub.yaml"
    config.write_text(
        config.read_text()
        .replace(
            "      customers: {table: shop_customers, primary_key: [id], cursor: [updated_at]}",
            "      customers: &c {table: shop_customers, primary_key: [id], cursor: [updated_at]}",
        )
        .replace(
            "      orders: {table: shop_orders, primary_key: [id], cursor: [updated_at]}",
            "      orders: {<<: *c, table: shop_orders}",
        )
    )
    loaded = load_config(config)
    assert loaded.sources["shop"].streams["orders"].table == "shop_orders"
    assert loaded.sources["shop"].streams["orders"].cursor == ["updated_at"]


def _runs(folder: Path) -> list[object]:
    store = create_engine(f"sqlite:///{folder / 'store.db'}")
    try:
        with store.connect() as conn:
            return list(conn.execute(select(runs)))
    finally:
        store.dispose()


def test_hostile_config_stream_missing_from_the_mapping_stops_before_anything_loads(
    folder: Path,
) -> None:
    config = folder / "crm-hub.yaml"
    config.write_text(
        config.read_text().replace(
            "      orders:",
            "      returns: {table: shop_orders, primary_key: [id]}\n      orders:",
        )
    )
    line = _line(config, "returns:")
    out = crm_hub("check", cwd=folder)
    assert out.returncode == 2, out.stdout + out.stderr
    assert (
        f"{config}:{line}: sources.shop.streams.returns: the mapping {folder / 'shop.yaml'} "
        "has no stream 'returns'" in out.stderr
    ), out.stderr
    _no_store(folder)
    synced = crm_hub("sync", cwd=folder)
    assert synced.returncode == 2 and "has no stream 'returns'" in synced.stderr
    assert _runs(folder) == []  # customers, declared before it, did not load either
    alone = crm_hub("sync", "shop", "--stream", "customers", cwd=folder)
    assert alone.returncode == 0, alone.stderr


def test_hostile_config_unknown_source_option_is_refused(folder: Path) -> None:
    config = folder / "crm-hub.yaml"
    config.write_text(
        config.read_text().replace(
            "    mapping: shop.yaml\n",
            "    mapping: shop.yaml\n    options: {colunmar: false}\n",
        )
    )
    line = _line(config, "colunmar")
    out = crm_hub("check", cwd=folder)
    assert out.returncode == 2, out.stdout + out.stderr
    assert (
        f"{config}:{line}: sources.shop.options.colunmar: unknown option (known: columnar)"
        in out.stderr
    ), out.stderr
    _no_store(folder)
    synced = crm_hub("sync", cwd=folder)
    assert synced.returncode == 2 and "options.colunmar: unknown option" in synced.stderr
    db2 = connector_class("db2")
    assert db2.option_problems({"isolation": "UR", "stand_in": True}) == []  # type: ignore[attr-defined]
    assert db2.option_problems({"standin": True}) == [  # type: ignore[attr-defined]
        (["options", "standin"], "unknown option (known: isolation, stand_in)")
    ]


@pytest.mark.parametrize("text", ["", "\n# nothing yet\n"])
def test_hostile_config_empty_file_is_an_error_in_check(tmp_path: Path, text: str) -> None:
    (tmp_path / "crm-hub.yaml").write_text(text)
    out = crm_hub("check", cwd=tmp_path)
    assert out.returncode == 2
    assert "crm-hub.yaml is empty" in out.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "crm-hub.yaml"]


def test_hostile_config_check_creates_no_store_and_changes_none(folder: Path) -> None:
    out = crm_hub("check", cwd=folder)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "not created yet" in out.stdout
    _no_store(folder)
    assert crm_hub("sync", cwd=folder).returncode == 0
    before = sorted(p.name for p in folder.iterdir())
    stored = (folder / "store.db").stat()
    again = crm_hub("check", cwd=folder)
    assert again.returncode == 0 and "schema current" in again.stdout, again.stdout
    assert sorted(p.name for p in folder.iterdir()) == before
    after = (folder / "store.db").stat()
    assert (after.st_size, after.st_mtime_ns) == (stored.st_size, stored.st_mtime_ns)
    (folder / "shop.db").rename(folder / "moved.db")
    missing = crm_hub("check", cwd=folder)
    assert missing.returncode == 2 and "shop.db does not exist" in missing.stderr
    assert not (folder / "shop.db").exists()


def test_hostile_config_check_on_an_empty_postgres_store_creates_no_table(
    folder: Path, pg_url: str
) -> None:
    env_store = {"CRM_HUB_DATABASE_URL": pg_url}
    full = {**os.environ, "COLUMNS": "250", "SHOP_URL": f"sqlite:///{folder / 'shop.db'}"}
    out = subprocess.run(
        [*CLI, "check"], cwd=folder, env={**full, **env_store}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert out.returncode == 0 and "empty: the first sync" in out.stdout, out.stdout + out.stderr
    store = create_engine(pg_url)
    assert inspect(store).get_table_names() == []
    store.dispose()
