"""The modern sample ERP on the real MariaDB and PostgreSQL, synced end to end through
unixODBC (``MariaDB Unicode`` / ``PostgreSQL Unicode``): full, a day of changes,
incremental; the customers' text compared byte for byte with what the server stores."""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal
from pathlib import Path

import opencc
import pytest
from sqlalchemy import create_engine, select, text

from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES
from sample_erps import modern_erp
from sample_erps.modern_erp_schema import PARTNER
from schemas.settings import load_config
from tests import modern_odbc_kit

pytest.importorskip("pyodbc", exc_type=ImportError)


@pytest.fixture(params=["mariadb", "postgres"])
def erp_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("mariadb_url" if request.param == "mariadb" else "pg_url")


def source_text(url: str) -> dict[str, tuple[bytes, bytes | None, str | None, Decimal]]:
    """Per partner: name and phone as UTF-8 bytes from the server, tax id, credit limit."""
    engine = create_engine(url)
    as_bytes = (
        "convert_to({}, 'UTF8')" if engine.dialect.name == "postgresql" else "CAST({} AS BINARY)"
    )
    sql = (
        f"SELECT id, {as_bytes.format('name')}, {as_bytes.format('phone')}, vat, credit_limit "
        "FROM res_partner"
    )
    with engine.connect() as conn:
        out = {
            str(i): (bytes(n), bytes(p) if p is not None else None, v, Decimal(c))
            for i, n, p, v, c in conn.execute(text(sql))
        }
    engine.dispose()
    return out


@pytest.mark.slow
def test_odbc_modern_erp_syncs_in_full_then_incrementally_with_text_intact(
    erp_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = modern_odbc_kit.fill(erp_url, customers=40)
    monkeypatch.setenv("MODERN_ODBC_URL", modern_odbc_kit.odbc_url(erp_url))
    # psqlODBC gives naive wall times in the session zone: make that zone Shanghai to show
    # the connector turns them back into the right instants
    zone = "Asia/Shanghai" if erp_url.startswith("postgresql") else "UTC"
    store_url = f"sqlite:///{tmp_path / 'hub.db'}"
    path = modern_odbc_kit.write_files(
        tmp_path, store_url, "MODERN_ODBC_URL", modern_odbc_kit.driver_for(erp_url), zone, 150
    )
    config = load_config(path)
    store = open_store(config.store_url())
    hub = SyncEngine(config, store)

    full = hub.sync_source("modern_erp")
    assert {r.stream: (r.status, r.counts.rows_read) for r in full} == {
        s: ("success", n) for s, n in counts.items()
    }, [r.error for r in full if r.error]
    assert sum(r.counts.rows_quarantined for r in full) == 0

    erp = create_engine(erp_url)
    changes = modern_erp.apply_changes(erp, seed=4, as_of=date(2026, 11, 21))
    incremental = {r.stream: r for r in hub.sync_source("modern_erp")}
    assert {r.mode for r in incremental.values()} == {"incremental"}
    assert incremental["orders"].counts.rows_read == (
        changes["new orders"] + changes["orders moved on"]
    )
    assert incremental["inventory"].counts.rows_read == changes["stock moves"]
    assert incremental["customers"].counts.rows_read == (
        changes["credit changes"] + changes["customer edits"]
    )

    with erp.connect() as conn:
        stored_at = dict(conn.execute(select(PARTNER.c.id, PARTNER.c.updated_at)).all())
    erp.dispose()
    customers, credit = RECORD_TABLES["customers"], RECORD_TABLES["credit"]
    with store.connect() as conn:
        rows = conn.execute(
            select(
                customers.c.customer_id,
                customers.c.name,
                customers.c.phone,
                customers.c.tax_id,
                customers.c.updated_at,
            )
        ).all()
        limits = dict(conn.execute(select(credit.c.customer_id, credit.c.credit_limit)).all())
    truth = source_text(erp_url)
    assert len(rows) == len(truth)
    for customer_id, name, phone, tax_id, updated_at in rows:
        name_bytes, phone_bytes, vat, limit = truth[customer_id]
        assert name.encode("utf-8") == name_bytes
        assert (phone.encode("utf-8") if phone else None) == phone_bytes
        assert tax_id == vat
        assert limits[customer_id] == limit
        assert updated_at.astimezone(UTC) == stored_at[int(customer_id)]
    to_simplified = opencc.OpenCC("t2s")
    assert any(to_simplified.convert(r.name) != r.name for r in rows), "traditional characters"
    assert any("＋８６" in (r.phone or "") for r in rows), "full-width phone digits"
    assert any(r.tax_id is None for r in rows) and any(r.tax_id for r in rows)
    store.dispose()
