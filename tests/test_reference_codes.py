"""Reference codes: canonical code lists, per-source crosswalks, unmapped codes kept and
counted (`crm-hub codes unmapped`), and the insights by canonical product line."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine, select

from crm_core.api.service.insights import insights
from crm_core.api.service.purchases import order_totals, product_lines, purchases
from crm_core.ledger.metrics import prometheus_text
from crm_core.store.tables import golden_customers
from mappings.codes import load_code_lists
from mappings.compile import compile_mapping
from mappings.loader import load_mapping
from schemas.settings import load_config
from tests.test_cli import crm_hub

MAPPINGS = Path(__file__).resolve().parent.parent / "mappings"
AS_OF = "2026-11-20"


def _inventory_rows(stream: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    return (
        compile_mapping(load_mapping(MAPPINGS / f"{stream}.yaml"))
        .stream("inventory")
        .apply(pl.DataFrame(rows))
        .records
    )


def test_a_crosswalk_maps_codes_of_two_sources_to_one_canonical_code() -> None:
    legacy = _inventory_rows(
        "legacy_erp",
        [
            {
                "LPROD": "BRG-001",
                "LWHS": "SH1",
                "LDESC": "Bearing",
                "LPLIN": "BRG ",
                "LOPB": 1000,
                "LIALC": 0,
                "LIORD": 0,
                "LCHGD": 20261101,
                "LCHGT": 120000,
            }
        ],
    )
    modern = _inventory_rows(
        "modern_erp",
        [
            {
                "product_code": "BRG-001",
                "location": "WH/Stock",
                "product_name": "Bearing 轴承 #1",
                "product_category": "Bearing",
                "quantity": "1.000",
                "reserved_quantity": "0",
                "incoming_quantity": "0",
                "updated_at": "2026-11-01T04:00:00",
            }
        ],
    )
    assert legacy["product_line"].to_list() == modern["product_line"].to_list() == ["BRG"]
    assert legacy["warehouse"].to_list() == modern["warehouse"].to_list() == ["SHA"]
    assert "BRG" in load_code_lists().codes("product_line")


def test_an_unknown_code_is_kept_and_flagged_by_the_mapping() -> None:
    mapping = compile_mapping(load_mapping(MAPPINGS / "rest_erp.yaml"))
    raw = pl.DataFrame(
        {
            "sku": ["A", "B", "C"],
            "location": ["WH-SH", "WH-XX", "WH-XX"],
            "description": ["a", "b", "c"],
            "category": ["Pump", "Gearbox", "Pump"],
            "on_hand": ["1", "2", "3"],
            "reserved": ["0", "0", "0"],
            "incoming": ["0", "0", "0"],
            "updated_at": ["2026-11-01T04:00:00+08:00"] * 3,
        }
    )
    batch = mapping.stream("inventory").apply(raw)
    assert batch.reject_count == 0  # kept, not quarantined
    assert batch.records["warehouse"].to_list() == ["SHA", "WH-XX", "WH-XX"]
    assert batch.records["product_line"].to_list() == ["PMP", "Gearbox", "PMP"]
    assert sorted(batch.unmapped) == [
        ("product_line", "Gearbox", 1),
        ("warehouse", "WH-XX", 2),
    ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("codes")
    workdir = root / "demo"
    out = crm_hub(
        "demo",
        "--workdir",
        str(workdir),
        "--customers",
        "300",
        "--as-of",
        AS_OF,
        "--rest-port",
        "0",
        cwd=root,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return workdir


def _unmapped(workdir: Path) -> list[dict[str, object]]:
    out = crm_hub(
        "--config", str(workdir / "crm-hub.yaml"), "codes", "unmapped", "--json", cwd=workdir
    )
    assert out.returncode == 0, out.stderr
    listed: list[dict[str, object]] = json.loads(out.stdout)
    return listed


@pytest.mark.slow
def test_the_demo_has_no_unmapped_code(demo: Path) -> None:
    assert _unmapped(demo) == []
    engine = create_engine(f"sqlite:///{demo / 'crm-hub.db'}")
    lists = load_code_lists()
    with engine.connect() as conn:
        for column, code_list in (
            ("product_line", "product_line"),
            ("warehouse", "site"),
        ):
            found = {v for (v,) in conn.exec_driver_sql(f"SELECT DISTINCT {column} FROM inventory")}
            assert found and found <= lists.codes(code_list), found
        terms = {v for (v,) in conn.exec_driver_sql("SELECT DISTINCT terms FROM credit")}
        assert terms - {None} <= lists.codes("payment_terms"), terms


@pytest.mark.slow
def test_insights_group_by_the_canonical_product_line(demo: Path) -> None:
    engine = create_engine(f"sqlite:///{demo / 'crm-hub.db'}")
    canonical = load_code_lists().codes("product_line")
    shared = 0
    with engine.connect() as conn:
        golden_ids = [g for (g,) in conn.execute(select(golden_customers.c.golden_id))]
    for golden_id in golden_ids:
        with engine.connect() as conn:
            bought = purchases(conn, golden_id, order_totals(conn, golden_id))
            lines = product_lines(conn, {(p.source, p.item_id) for p in bought})
        sources_by_line: dict[str, set[str]] = {}
        for p in bought:
            line = lines.get((p.source, p.item_id))
            if line:
                sources_by_line.setdefault(line, set()).add(p.source)
        if not any(len(s) > 1 for s in sources_by_line.values()):
            continue
        shared += 1
        view = insights(engine, golden_id, as_of=date.fromisoformat(AS_OF))
        keys = [(h.product_line, h.year, h.currency) for h in view.purchase_history]
        assert len(keys) == len(set(keys)), "one product line split into several rows"
        assert {h.product_line for h in view.purchase_history} <= canonical
        assert set(view.lapsed_product_lines) <= canonical
        if shared >= 5:
            break
    assert shared, "no demo customer buys one product line from two ERPs"


@pytest.mark.slow
def test_an_unmapped_code_is_kept_flagged_counted_and_listed(demo: Path) -> None:
    with sqlite3.connect(demo / "legacy_erp.db") as source:
        source.execute(
            "UPDATE ILI SET LPLIN = 'GBX ' WHERE LPROD IN (SELECT LPROD FROM ILI LIMIT 1)"
        )
        changed = source.execute("SELECT COUNT(*) FROM ILI WHERE LPLIN = 'GBX '").fetchone()[0]
    out = crm_hub(
        "--config",
        str(demo / "crm-hub.yaml"),
        "sync",
        "legacy_erp",
        "--stream",
        "inventory",
        "--full-refresh",
        "-q",
        cwd=demo,
    )
    assert out.returncode == 0, out.stdout + out.stderr

    engine = create_engine(f"sqlite:///{demo / 'crm-hub.db'}")
    with engine.connect() as conn:
        kept = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM inventory WHERE source = 'legacy_erp' AND product_line = 'GBX'"
        ).scalar()
    assert kept == changed  # the source's value stays, the rows are loaded

    listed = _unmapped(demo)
    assert [(r["value"], r["source"], r["stream"], r["field"], r["rows"]) for r in listed] == [
        ("GBX", "legacy_erp", "inventory", "product_line", changed)
    ]

    config = load_config(demo / "crm-hub.yaml")
    metrics = prometheus_text(config, engine)
    assert (
        'crm_hub_unmapped_codes{field="product_line",source="legacy_erp",stream="inventory"} 1.0'
        in metrics
    )
