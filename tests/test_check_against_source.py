"""``crm-hub check`` holds every mapping against the live source: a misspelt column with
the closest one the source has, a column gone since the last run, text into a decimal, all
problems of all mapping files at once with file and line; ``--offline`` reads files only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mappings.column_types import GIVES, field_type_problem
from mappings.spec import FieldMap
from mappings.transforms import TRANSFORMS
from sample_erps import rest_erp, service_desk
from tests import shop_kit

CLI = [str(Path(sys.executable).with_name("crm-hub"))]
TWO_SOURCES = """\
store:
  url: sqlite:///store.db
sources:
  shop:
    kind: sql
    url_env: SHOP_URL
    mapping: shop.yaml
    streams:
      customers: {table: shop_customers, primary_key: [id], cursor: [updated_at]}
      orders: {table: shop_orders, primary_key: [id], cursor: [updated_at]}
  shop_copy:
    kind: sql
    url_env: SHOP_URL
    mapping: shop_copy.yaml
    streams:
      customers: {table: shop_customers, primary_key: [id], cursor: [updated_at]}
"""


def crm_hub(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "250", **env}
    full.pop("CRM_HUB_DATABASE_URL", None)
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=180
    )


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first line of ``path`` holding ``needle``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


@pytest.fixture(params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The shop ERP (SQLite file or PostgreSQL database) with a few rows, its mapping and a
    config with a SQLite store, in ``tmp_path``; the environment naming the ERP."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    erp = shop_kit.create(url)
    shop_kit.add_customers(
        erp, [(f"C{i}", f"Name {i}", f"c{i}@x.org", shop_kit.T0) for i in range(7)]
    )
    shop_kit.add_orders(erp, 5)
    erp.dispose()
    shop_kit.write_files(tmp_path, "sqlite:///store.db")
    yield tmp_path, {"SHOP_URL": url}


def edit(path: Path, old: str, new: str) -> None:
    content = path.read_text(encoding="utf-8")
    assert old in content
    path.write_text(content.replace(old, new), encoding="utf-8")


def test_a_misspelt_column_is_named_with_its_line_and_the_closest_column(shop) -> None:
    folder, env = shop
    mapping = folder / "shop.yaml"
    edit(mapping, "email: {from: email,", "email: {from: emial,")
    out = crm_hub("check", cwd=folder, env=env)
    assert out.returncode == 2, out.stdout + out.stderr
    line = line_of(mapping, "from: emial")
    assert (
        f"{mapping}:{line}: streams.customers.fields.email.from: no column 'emial' in "
        "shop_customers; did you mean 'email'?"
    ) in out.stderr
    offline = crm_hub("check", "--offline", cwd=folder, env=env)
    assert offline.returncode == 0, offline.stderr
    assert "all checks passed" in offline.stdout


def test_text_into_a_decimal_field_needs_a_converting_transform(shop) -> None:
    folder, env = shop
    mapping = folder / "shop.yaml"
    edit(mapping, "total_amount: total", "total_amount: {from: currency, transforms: [trim]}")
    out = crm_hub("check", cwd=folder, env=env)
    assert out.returncode == 2
    line = line_of(mapping, "total_amount:")
    assert f"{mapping}:{line}: streams.orders.fields.total_amount.from: " in out.stderr
    assert "a decimal field needs a transform that converts it: decimal" in out.stderr
    edit(mapping, "transforms: [trim]}", "transforms: [trim, decimal]}")
    assert crm_hub("check", cwd=folder, env=env).returncode == 0


def test_a_column_dropped_since_the_last_run_is_drift_in_check_and_in_sync(shop) -> None:
    folder, env = shop
    synced = crm_hub("sync", "shop", cwd=folder, env=env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    erp = create_engine(env["SHOP_URL"])
    with erp.begin() as conn:
        conn.execute(text("ALTER TABLE shop_customers DROP COLUMN email"))
    erp.dispose()
    mapping = folder / "shop.yaml"
    line = line_of(mapping, "email: {from: email")
    out = crm_hub("check", cwd=folder, env=env)
    assert out.returncode == 2
    drift = re.search(
        rf"{re.escape(str(mapping))}:{line}: streams\.customers\.fields\.email\.from: column "
        r"'email' was there at the last run \(run (\d+)\) and is gone",
        out.stderr,
    )
    assert drift, out.stderr
    # an incremental run reads no new rows; a full one meets the drift, named the same way
    full = crm_hub("sync", "shop", "--stream", "customers", "--full-refresh", cwd=folder, env=env)
    assert full.returncode == 1
    status = json.loads(crm_hub("status", "--json", cwd=folder, env=env).stdout)
    error = next(r for r in status if r["stream"] == "customers")["error"]
    assert f"{mapping}:{line}: streams.customers.fields.email.from" in error
    assert f"was there at the last run (run {drift.group(1)})" in error


def test_every_problem_of_two_mapping_files_at_once(shop) -> None:
    folder, env = shop
    (folder / "crm-hub.yaml").write_text(TWO_SOURCES, encoding="utf-8")
    first, second = folder / "shop.yaml", folder / "shop_copy.yaml"
    edit(first, "name: {from: name,", "name: {from: nmae,")
    edit(first, "currency: {from: currency,", "currency: {from: curency,")
    second.write_text(
        "system: shop\nstreams:\n  customers:\n    entity: customers\n    fields:\n"
        "      customer_id: id\n      name: {from: full_name}\n      updated_at: updated_at\n",
        encoding="utf-8",
    )
    out = crm_hub("check", cwd=folder, env=env)
    assert out.returncode == 2
    assert "3 problem(s) found" in out.stderr
    assert f"{first}:{line_of(first, 'nmae')}: " in out.stderr
    assert f"{first}:{line_of(first, 'curency')}: " in out.stderr
    assert "did you mean 'currency'?" in out.stderr
    assert f"{second}:{line_of(second, 'full_name')}: " in out.stderr
    assert "no column 'full_name' in shop_customers" in out.stderr
    assert crm_hub("check", "--offline", cwd=folder, env=env).returncode == 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo's folder (its ERPs, config and store after its runs), made once."""
    folder = tmp_path_factory.mktemp("demo")
    made = crm_hub("demo", "--workdir", str(folder), "--customers", "300", cwd=folder, env={})
    assert made.returncode == 0, made.stdout + made.stderr
    return folder


def test_the_demo_config_passes_check(demo: Path) -> None:
    config = demo / "crm-hub.yaml"
    with (
        rest_erp.serve(demo / "rest_erp.db") as server,  # the demo served them while it ran
        service_desk.serve(demo / "service_desk.db") as desk,
    ):
        served = demo / "served.yaml"
        text = re.sub(
            r"url: http://127\.0\.0\.1:\d+/api/v1", f"url: {server.api_url}", config.read_text()
        )
        text = re.sub(r"url: http://127\.0\.0\.1:\d+/api/v2", f"url: {desk.api_url}", text)
        served.write_text(text, encoding="utf-8")
        out = crm_hub("--config", str(served), "check", cwd=demo, env={})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all checks passed" in out.stdout


def test_every_transform_says_what_it_gives() -> None:
    assert set(GIVES) == set(TRANSFORMS)


@pytest.mark.parametrize(
    ("fmap", "kinds", "field_kind", "fine"),
    [
        ({"from": "AMT"}, {"AMT": "char"}, "decimal", False),
        ({"from": "AMT", "transforms": ["trim"]}, {"AMT": "text"}, "decimal", False),
        (
            {"from": "AMT", "transforms": [{"implied_decimals": 2}]},
            {"AMT": "char"},
            "decimal",
            True,
        ),
        ({"from": "AMT"}, {"AMT": "int"}, "decimal", True),
        ({"from": "D"}, {"D": "text"}, "date", False),
        ({"from": "D", "transforms": ["cyyddd"]}, {"D": "decimal"}, "date", True),
        ({"from": "D", "transforms": ["int"]}, {"D": "date"}, "int", False),
        ({"from": "D"}, {"D": "int"}, "date", False),
        ({"from": "X"}, {"X": "decimal"}, "str", True),
        ({"from": "X"}, {"X": ""}, "decimal", True),
    ],
)
def test_type_rules(fmap: dict, kinds: dict[str, str], field_kind: str, fine: bool) -> None:
    problem = field_type_problem(FieldMap.model_validate(fmap), field_kind, kinds)
    assert (problem is None) == fine, problem
