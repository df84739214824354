"""The contracts' two engines agree: the polars evaluation of an expectation fails exactly
the rows great-expectations fails, on the same batches."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_core.pull.contracts import ContractChecker
from schemas.contract import Contract, load_contract

STATUSES = ["entered", "shipped", "cancelled", "lost", None]
row = st.fixed_dictionaries(
    {
        "order_id": st.sampled_from(["1", "2", "3", "4", "5", None]),
        "customer_id": st.sampled_from(["C1", None]),
        "order_date": st.one_of(st.none(), st.dates(date(1890, 1, 1), date(2030, 1, 1))),
        "status": st.sampled_from(STATUSES),
        "currency": st.sampled_from(["CNY", "EURO", "", None]),
        "total_amount": st.one_of(st.none(), st.decimals(-1000, 10**13, places=2, allow_nan=False)),
    }
)


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "order_id": pl.Utf8,
            "customer_id": pl.Utf8,
            "order_date": pl.Date,
            "status": pl.Utf8,
            "currency": pl.Utf8,
            "total_amount": pl.Decimal(38, 4),
        },
    )


ORDERS = load_contract("orders")
assert ORDERS is not None
FAST = ContractChecker(ORDERS, today=date(2026, 1, 1))
GX = ContractChecker(ORDERS, today=date(2026, 1, 1), engine="great_expectations")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=12))
def test_contract_engines_fail_the_same_rows_for_the_same_reasons(rows: list[dict]) -> None:
    frame = _frame(rows)
    assert FAST.engine == "polars" and GX.engine == "great_expectations"
    fast, slow = FAST.check(frame), GX.check(frame)
    assert fast.failed_rows == slow.failed_rows
    assert dict(fast.failures) == dict(slow.failures)


def test_contract_with_an_expectation_polars_does_not_know_runs_in_gx() -> None:
    contract = Contract(
        entity="orders",
        version=1,
        expectations=[
            {"expect_column_values_to_be_increasing": {"column": "order_date"}},
        ],
    )
    checker = ContractChecker(contract, today=date(2026, 1, 1))
    assert checker.engine == "great_expectations"
    frame = _frame(
        [
            {"order_id": "1", "order_date": date(2025, 1, 2), "total_amount": Decimal(1)},
            {"order_id": "2", "order_date": date(2025, 1, 1), "total_amount": Decimal(1)},
        ]
    )
    outcome = checker.check(frame)
    assert list(outcome.failures) == ["expect_column_values_to_be_increasing(order_date)"]
