"""The sample legacy ERP: its legacy encodings, its duplicates and its day of changes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine, func, select

from mappings.legacy_dates import cyyddd, yyyymmdd
from sample_erps import legacy_erp
from sample_erps.legacy_erp_schema import ECH, RCM, ddl


@pytest.fixture()
def erp(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    legacy_erp.create_schema(engine)
    yield engine
    engine.dispose()


def test_legacy_date_numbers() -> None:
    assert cyyddd(date(2026, 11, 20)) == 126324
    assert cyyddd(date(1999, 1, 1)) == 99001
    assert yyyymmdd(date(2026, 2, 3)) == 20260203


def test_rows_are_padded_and_no_stamp_is_after_as_of(erp) -> None:
    truth: list[tuple[str, str]] = []
    counts = legacy_erp.generate(erp, seed=3, as_of=date(2026, 6, 30), customers=200, truth=truth)
    with erp.connect() as conn:
        names = conn.execute(select(RCM.c.CNME)).scalars().all()
        latest = conn.execute(select(func.max(ECH.c.HCHGD))).scalar()
        blank_currency = conn.execute(select(func.count()).where(ECH.c.HCUR == "   ")).scalar()
    assert all(len(n) == 50 for n in names)
    assert any("有限" in n for n in names)
    assert latest <= 20260630
    assert blank_currency > 0
    assert counts["customers"] == len(truth) >= 200
    # in-ERP duplicates: some true customers have two customer numbers
    true_ids = [t for _, t in truth]
    assert len(set(true_ids)) == 200 < len(true_ids)


def test_changes_are_stamped_after_everything_before(erp) -> None:
    legacy_erp.generate(erp, seed=3, as_of=date(2026, 6, 30), customers=100)
    with erp.connect() as conn:
        before = conn.execute(select(func.count()).select_from(ECH)).scalar()
    changed = legacy_erp.apply_changes(erp, seed=4, as_of=date(2026, 7, 1))
    assert changed["new orders"] >= 1
    with erp.connect() as conn:
        after = conn.execute(select(func.count()).select_from(ECH)).scalar()
        today = conn.execute(select(func.count()).where(ECH.c.HCHGD == 20260701)).scalar()
    # the day also purges a few orders (and a customer with its orders): issue 18
    assert changed["orders deleted"] >= 3 and changed["customers deleted"] == 1
    assert after == before + changed["new orders"] - changed["orders deleted"]
    assert today == changed["new orders"] + changed["orders moved on"]
    with pytest.raises(ValueError, match="already has changes after"):
        legacy_erp.apply_changes(erp, seed=5, as_of=date(2026, 6, 30))


def test_ddl_for_db2_uses_decimal_and_char() -> None:
    pytest.importorskip("ibm_db_sa")
    text = ddl("ibm_db_sa")
    assert '"CCRDT" DECIMAL(7, 0) NOT NULL' in text
    assert '"CNME" CHAR(50) NOT NULL' in text
    assert 'PRIMARY KEY ("LORD", "LLINE")' in text
