"""`crm-hub quarantine list|show|replay|discard`: held rows are worked through, never lost."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from crm_core.store.tables import RECORD_TABLES
from tests import shop_kit
from tests.test_cli import crm_hub


@pytest.fixture
def held(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A synced shop whose orders 3 and 4 were held: an unknown status code, a bad total."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    erp = shop_kit.create(url)
    shop_kit.add_customers(
        erp, [(f"C{i}", f"C {i}", f"c{i}@example.com", shop_kit.T0) for i in range(7)]
    )
    shop_kit.add_orders(erp, 20)
    with erp.begin() as conn:
        conn.execute(shop_kit.orders.update().where(shop_kit.orders.c.id == 3).values(status="Q"))
        conn.execute(
            shop_kit.orders.update().where(shop_kit.orders.c.id == 4).values(total=Decimal("-4.00"))
        )
    shop_kit.write_files(tmp_path, "sqlite:///store.db", batch=50)
    env = {"SHOP_URL": url}
    assert crm_hub("sync", cwd=tmp_path, env=env).returncode == 0
    return tmp_path, env


def _open(folder: Path, env: dict[str, str]) -> list[dict]:
    out = crm_hub("quarantine", "list", "--json", cwd=folder, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_quarantine_list_and_show_give_reason_and_raw_row(held) -> None:
    folder, env = held
    rows = {r["record_key"]: r for r in _open(folder, env)}
    assert set(rows) == {"3", "4"}
    assert "status (from status): value 'Q' is not a code of table 'status'" in rows["3"]["reason"]
    assert "total_amount" in rows["4"]["reason"] and "-4.0" in rows["4"]["reason"]
    table = crm_hub("quarantine", "list", cwd=folder, env=env)
    assert "2 open" in table.stdout
    status = crm_hub("status", cwd=folder, env=env)
    assert "orders v1: 1 failed" in status.stdout and "2 row(s) held back" in status.stdout
    shown = crm_hub("quarantine", "show", str(rows["3"]["id"]), cwd=folder, env=env)
    assert shown.returncode == 0 and '"status": "Q"' in shown.stdout


def test_quarantine_replay_after_a_mapping_fix_loads_the_row(held) -> None:
    folder, env = held
    mapping = folder / "shop.yaml"
    mapping.write_text(
        mapping.read_text().replace("X: cancelled}", "X: cancelled, Q: confirmed}"),
        encoding="utf-8",
    )
    out = crm_hub("quarantine", "replay", "--all", "--by", "ops-anna", cwd=folder, env=env)
    assert "1 replayed" in out.stdout and "1 still failing" in out.stdout
    assert out.returncode == 1  # something is still held
    store = create_engine(f"sqlite:///{folder / 'store.db'}")
    with store.connect() as conn:
        status = conn.execute(
            select(RECORD_TABLES["orders"].c.status).where(
                RECORD_TABLES["orders"].c.order_id == "3"
            )
        ).scalar_one()
    assert status == "confirmed"
    everything = crm_hub("quarantine", "list", "--status", "all", "--json", cwd=folder, env=env)
    by_key = {r["record_key"]: r for r in json.loads(everything.stdout)}
    assert by_key["3"]["status"] == "replayed" and by_key["3"]["resolved_by"].startswith("ops-anna")
    assert by_key["4"]["status"] == "open"
    runs = json.loads(crm_hub("status", "--json", cwd=folder, env=env).stdout)
    assert any(r["mode"] == "replay" and r["rows_loaded"] == 1 for r in runs)


def test_quarantine_replay_does_not_put_old_data_over_new(held) -> None:
    folder, env = held
    erp = create_engine(env["SHOP_URL"])
    with erp.begin() as conn:  # the source fixes order 3 itself, later
        conn.execute(
            shop_kit.orders.update()
            .where(shop_kit.orders.c.id == 3)
            .values(status="S", updated_at=shop_kit.T0.replace(year=2026))
        )
    assert crm_hub("sync", cwd=folder, env=env).returncode == 0
    (folder / "shop.yaml").write_text(
        (folder / "shop.yaml").read_text().replace("X: cancelled}", "X: cancelled, Q: entered}"),
        encoding="utf-8",
    )
    out = crm_hub("quarantine", "replay", "--reason", "not a code", cwd=folder, env=env)
    assert "1 superseded" in out.stdout, out.stdout + out.stderr
    store = create_engine(f"sqlite:///{folder / 'store.db'}")
    with store.connect() as conn:
        status = conn.execute(
            select(RECORD_TABLES["orders"].c.status).where(
                RECORD_TABLES["orders"].c.order_id == "3"
            )
        ).scalar_one()
    assert status == "shipped"


def test_quarantine_discard_needs_a_note_and_keeps_the_row(held) -> None:
    folder, env = held
    [row4] = [r for r in _open(folder, env) if r["record_key"] == "4"]
    refused = crm_hub("quarantine", "discard", str(row4["id"]), cwd=folder, env=env)
    assert refused.returncode == 2 and "--note" in refused.stderr
    done = crm_hub(
        "quarantine", "discard", str(row4["id"]), "--note", "test order", cwd=folder, env=env
    )
    assert done.returncode == 0 and "discarded 1" in done.stdout
    rows = json.loads(
        crm_hub("quarantine", "list", "--status", "discarded", "--json", cwd=folder, env=env).stdout
    )
    assert [r["record_key"] for r in rows] == ["4"] and "test order" in rows[0]["resolved_by"]
