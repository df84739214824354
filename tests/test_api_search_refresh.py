"""The search index's refresh rounds: the first compares every customer with its entry,
later ones look only at what changed since the previous round began (less a margin),
and every FULL_CHECK_SECONDS a round compares everything again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from crm_core.api.service import search_index
from crm_core.store.db import open_store
from crm_core.store.tables import customer_search, golden_customers


def _terms(store: object, golden_id: str) -> str:
    with store.connect() as conn:  # type: ignore[attr-defined]
        return conn.execute(
            select(customer_search.c.name_terms).where(customer_search.c.golden_id == golden_id)
        ).scalar_one()


def _rename(store: object, golden_id: str, name: str, when: datetime) -> None:
    with store.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(
            update(golden_customers)
            .where(golden_customers.c.golden_id == golden_id)
            .values(name=name, updated_at=when)
        )


def test_rounds_between_full_checks_look_only_at_recent_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    long_ago = datetime.now(UTC) - timedelta(days=2)
    with store.begin() as conn:
        conn.execute(
            insert(golden_customers),
            [
                {"golden_id": f"G{i:08d}", "name": name, "created_at": long_ago,
                 "updated_at": long_ago}
                for i, name in enumerate(["上海华盛机械有限公司", "Müller GmbH"], start=1)
            ],
        )  # fmt: skip
    assert search_index.refresh(store) == 2  # the first round: every customer
    assert "shanghaihuasheng" in _terms(store, "G00000001")

    _rename(store, "G00000001", "深圳宏达电子有限公司", datetime.now(UTC))
    assert search_index.refresh(store) == 1  # a recent change: found by a partial round
    assert "shenzhenhongda" in _terms(store, "G00000001")

    # a change stamped before the previous round began (less the margin), say by a
    # transaction that was open for hours: partial rounds miss it, a full check does not
    _rename(store, "G00000002", "Schmidt AG", long_ago + timedelta(hours=1))
    assert search_index.refresh(store) == 0
    monkeypatch.setattr(search_index, "FULL_CHECK_SECONDS", 0.0)
    assert search_index.refresh(store) == 1
    assert "schmidtag" in _terms(store, "G00000002")
    assert search_index.refresh(store) == 0  # nothing left
