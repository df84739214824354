"""The sample modern ERP: deterministic, its own share of the customer universe, its own
distortions, a day of changes, and a mapping that loads every row (here on SQLite)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import opencc
import pytest
from sqlalchemy import Engine, create_engine, func, select

from connectors.sql import SqlConnector
from mappings import compile_mapping, load_mapping
from sample_erps import legacy_erp, modern_erp
from sample_erps.modern_erp_schema import PARTNER, SALE_ORDER, ddl
from schemas.settings import SourceConfig

AS_OF = date(2026, 11, 20)
MAPPING = Path(__file__).parent.parent / "mappings" / "modern_erp.yaml"


def erp(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    modern_erp.create_schema(engine)
    return engine


def test_modern_erp_is_deterministic_and_shares_about_two_thirds_with_the_legacy_erp(
    tmp_path: Path,
) -> None:
    dumps, truths = [], []
    for name in ("a", "b"):
        engine = erp(tmp_path / f"{name}.db")
        truth: list[tuple[str, str]] = []
        modern_erp.generate(engine, seed=9, as_of=AS_OF, customers=150, truth=truth)
        with engine.connect() as conn:
            dumps.append(conn.execute(select(PARTNER).order_by(PARTNER.c.id)).all())
        truths.append(truth)
        engine.dispose()
    assert dumps[0] == dumps[1] and truths[0] == truths[1]
    legacy = create_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    legacy_erp.create_schema(legacy)
    legacy_truth: list[tuple[str, str]] = []
    legacy_erp.generate(legacy, seed=9, as_of=AS_OF, customers=150, truth=legacy_truth)
    modern_ids = {t for _, t in truths[0]}
    shared = modern_ids & {t for _, t in legacy_truth}
    assert len(modern_ids) == 150
    assert 0.55 < len(shared) / len(modern_ids) < 0.8


def test_modern_erp_customers_carry_this_systems_distortions(tmp_path: Path) -> None:
    engine = erp(tmp_path / "erp.db")
    modern_erp.generate(engine, seed=2, as_of=AS_OF, customers=300)
    with engine.connect() as conn:
        partners = conn.execute(select(PARTNER)).all()
    chinese = [p for p in partners if p.country_code == "CN"]
    to_simplified = opencc.OpenCC("t2s")
    traditional = [p for p in chinese if to_simplified.convert(p.name) != p.name]
    assert 0.1 < len(traditional) / len(chinese) < 0.3
    assert any("臺" in p.name or "華" in p.name or "東" in p.name for p in traditional)
    full_width = [p for p in chinese if "（＋８６）" in p.phone]
    assert 0.05 < len(full_width) / len(chinese) < 0.2
    styled = [p for p in partners if p.phone.startswith(("(+", "（＋"))]
    assert len(styled) / len(partners) > 0.97  # not the few entered twice, without blanks
    assert not any(p.city.endswith("市") for p in chinese)
    companies = [p for p in partners if p.is_company]
    missing = [p for p in companies if p.vat is None]
    assert 0.2 < len(missing) / len(companies) < 0.45
    assert all(p.email == p.email.lower() for p in partners)


def test_modern_erp_changes_are_stamped_after_everything_before(tmp_path: Path) -> None:
    engine = erp(tmp_path / "erp.db")
    modern_erp.generate(engine, seed=3, as_of=AS_OF, customers=80)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(SALE_ORDER)).scalar()
        latest = max(conn.execute(select(SALE_ORDER.c.updated_at)).scalars())
    changed = modern_erp.apply_changes(engine, seed=4, as_of=date(2026, 11, 21))
    assert changed["new orders"] >= 1 and changed["orders moved on"] >= 1
    with engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(SALE_ORDER)).scalar()
        newer = conn.execute(select(SALE_ORDER.c.updated_at)).scalars().all()
    assert after == before + changed["new orders"]
    assert sum(1 for t in newer if t > latest) == changed["new orders"] + changed["orders moved on"]
    assert latest <= datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # end of the day in Shanghai
    with pytest.raises(ValueError, match="already has changes after"):
        modern_erp.apply_changes(engine, seed=5, as_of=AS_OF)


def test_modern_erp_mapping_loads_every_row_read_from_sqlite(tmp_path: Path) -> None:
    engine = erp(tmp_path / "erp.db")
    modern_erp.generate(engine, seed=6, as_of=AS_OF, customers=30)
    mapping = compile_mapping(load_mapping(MAPPING))
    streams = {
        name: {"table": table, "primary_key": key, "cursor": cursor}
        for name, (table, key, cursor) in modern_erp.STREAMS.items()
    }
    cfg = SourceConfig(url=str(engine.url), mapping=MAPPING, streams=streams)
    with SqlConnector("modern_erp", cfg) as source:
        for stream in streams:
            for batch in source.read(stream, None, 500):
                mapped = mapping.stream(stream).apply(batch)
                assert mapped.reject_count == 0, mapped.rejects.row(0, named=True)
    assert "utf8mb4" in ddl("mariadb") and "TIMESTAMP WITH TIME ZONE" in ddl("postgresql")
