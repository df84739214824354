"""The store: migrations match the model on SQLite and PostgreSQL; types keep exactness."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.exc import StatementError

from crm_core.pull import positions
from crm_core.store.db import open_store
from crm_core.store.tables import POSTGRESQL_ONLY_INDEXES, RECORD_TABLES, metadata


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def test_migrations_build_exactly_the_declared_schema(store_url: str) -> None:
    engine = open_store(store_url)

    def declared_here(_obj: object, name: str | None, type_: str, *_: object) -> bool:
        # PostgreSQL's trigram indexes are declared for PostgreSQL only
        return not (
            type_ == "index"
            and name in POSTGRESQL_ONLY_INDEXES
            and engine.dialect.name != "postgresql"
        )

    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": declared_here}
        )
        assert compare_metadata(ctx, metadata) == []
    open_store(store_url)  # a second open is a no-op


def test_money_stays_exact_and_timestamps_aware(store_url: str) -> None:
    engine = open_store(store_url)
    credit = RECORD_TABLES["credit"]
    shanghai = timezone(timedelta(hours=8))
    with engine.begin() as conn:
        conn.execute(
            insert(credit).values(
                source="erp",
                customer_id="C1",
                credit_limit=Decimal("12345678901234.1234"),
                currency="CNY",
                on_hold=False,
                updated_at=datetime(2025, 1, 1, 8, tzinfo=shanghai),
            )
        )
        row = conn.execute(select(credit)).one()
    assert row.credit_limit == Decimal("12345678901234.1234")
    assert row.updated_at == datetime(2025, 1, 1, 0, tzinfo=UTC) and row.updated_at.tzinfo


def test_naive_timestamps_are_refused(sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    with pytest.raises(StatementError, match="naive timestamp"), engine.begin() as conn:
        conn.execute(
            insert(RECORD_TABLES["credit"]).values(
                source="erp",
                customer_id="C1",
                credit_limit=1,
                currency="CNY",
                updated_at=datetime(2025, 1, 1),
            )
        )


values = st.one_of(
    st.none(),
    st.integers(),
    st.text(),
    st.booleans(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))])),
)


@given(st.lists(values, min_size=1, max_size=4))
def test_positions_round_trip_with_their_types(position: list[object]) -> None:
    back = positions.decode(positions.encode(position))
    assert back == tuple(position)
    assert [type(v) for v in back] == [type(v) for v in position]


def test_positions_describe() -> None:
    assert (
        positions.describe((20250101, "C001   ", date(2025, 1, 2))) == "20250101, C001, 2025-01-02"
    )
