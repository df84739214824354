"""A mapping leaves out the checks a batch's column types rule out (an integer column cannot
fail ``int``, a ``numeric(12, 3)`` cannot overflow the model's decimals, a code table's
values are known): whatever it leaves out, the same rows load and the same rows are
rejected, with the same reasons, as when every value comes as text and is checked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import compile_mapping
from mappings.compile import CompiledStream
from mappings.spec import MappingFile

STATUS = {"E": "entered", "S": "shipped"}


def _stream(codes: dict[str, Any] | None = None) -> CompiledStream:
    mapping = MappingFile.model_validate(
        {
            "system": "erp",
            "code_tables": {"status": codes or STATUS},
            "streams": {
                "lines": {
                    "entity": "order_lines",
                    "fields": {
                        "order_id": {"from": "order_id", "transforms": ["to_str"]},
                        "line_no": {"from": "line_no", "transforms": ["int"]},
                        "item_id": {"from": "item_id", "transforms": ["trim"]},
                        "quantity": {"from": "quantity", "transforms": ["decimal"]},
                        "unit_price": {"from": "unit_price", "transforms": ["decimal"]},
                        "amount": {"from": "amount", "transforms": ["decimal"]},
                        "status": {"from": "status", "transforms": [{"code": "status"}]},
                    },
                }
            },
        }
    )
    return compile_mapping(mapping).stream("lines")


def _outcome(stream: CompiledStream, raw: pl.DataFrame) -> tuple[list[Any], dict[int, str]]:
    """The mapped rows, and each rejected row's reason by its order id."""
    out = stream.apply(raw)
    reasons = dict(zip(out.rejects["order_id"].cast(pl.Int64), out.rejects["_reason"], strict=True))
    return out.records.rows(), reasons


def _as_text(raw: pl.DataFrame) -> pl.DataFrame:
    """The batch as a source sending only text would (every check is built for it)."""
    return raw.with_columns(pl.exclude("order_id").cast(pl.Utf8))


DECIMALS = st.decimals(
    min_value=Decimal("-999999999.999"),
    max_value=Decimal("999999999.999"),
    places=3,
    allow_nan=False,
    allow_infinity=False,
)
#: values of an unconstrained NUMERIC (precision 38): some too large for the model
HUGE = st.one_of(
    DECIMALS,
    st.integers(min_value=10**27, max_value=10**34).map(lambda n: Decimal(n) / 1000),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-(2**31), max_value=2**31 - 1),
            DECIMALS,
            HUGE,
            st.sampled_from(["E", "S", "Q", " E ", ""]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_typed_columns_load_and_reject_what_text_does(rows: list[tuple[Any, ...]]) -> None:
    raw = pl.DataFrame(
        {
            "order_id": list(range(len(rows))),
            "line_no": pl.Series([r[0] for r in rows], dtype=pl.Int32),
            "item_id": ["X-1"] * len(rows),
            "quantity": pl.Series([r[1] for r in rows], dtype=pl.Decimal(12, 3)),
            "unit_price": pl.Series([r[1] for r in rows], dtype=pl.Decimal(14, 4)),
            "amount": pl.Series([r[2] for r in rows], dtype=pl.Decimal(38, 3)),
            "status": [r[3] for r in rows],
        }
    )
    stream = _stream()
    records, reasons = _outcome(stream, raw)
    text_records, text_reasons = _outcome(stream, _as_text(raw))
    assert reasons == text_reasons
    assert records == text_records
    overflow = {i for i, r in enumerate(rows) if abs(r[2]) >= 10**28}
    assert overflow <= set(reasons)  # a NUMERIC without a precision is still checked
    assert all("is not a number" in reasons[i] for i in overflow)


def test_an_integer_too_large_for_the_model_is_still_rejected() -> None:
    raw = pl.DataFrame(
        {
            "order_id": [1, 2],
            "line_no": pl.Series([1, 2**63 + 5], dtype=pl.UInt64),
            "item_id": ["X-1", "X-2"],
            "quantity": [Decimal("1.5")] * 2,
            "unit_price": [Decimal("2")] * 2,
            "amount": [Decimal("3")] * 2,
            "status": ["E", "S"],
        }
    )
    records, reasons = _outcome(_stream(), raw)
    assert [r[:2] for r in records] == [("1", 1)]
    assert "is not an integer" in reasons[2]


def test_a_code_table_value_that_would_fail_the_field_is_still_checked() -> None:
    """A code table is known before any row is read; its values are checked only where
    they could fail: a control character in one, or one outside the field's choices."""
    raw = pl.DataFrame(
        {
            "order_id": [1, 2, 3],
            "line_no": [1, 1, 1],
            "item_id": ["X-1"] * 3,
            "quantity": [Decimal("1")] * 3,
            "unit_price": [Decimal("1")] * 3,
            "amount": [Decimal("1")] * 3,
            "status": ["E", "B", "L"],
        }
    )
    codes = {"E": "entered", "B": "back\x07ordered", "L": "lost"}
    records, reasons = _outcome(_stream(codes), raw)
    assert [r[0] for r in records] == ["1"]
    assert "control character" in reasons[2]
    assert "is not one of entered, confirmed" in reasons[3]


def test_a_code_tables_numeric_default_is_its_text_and_still_checked() -> None:
    raw = pl.DataFrame(
        {
            "order_id": [1, 2],
            "line_no": [1, 1],
            "item_id": ["X-1"] * 2,
            "quantity": [Decimal("1")] * 2,
            "unit_price": [Decimal("1")] * 2,
            "amount": [Decimal("1")] * 2,
            "status": ["E", "Q"],
        }
    )
    records, reasons = _outcome(_stream({"E": "entered", "_default": 0}), raw)
    assert [r[0] for r in records] == ["1"]
    assert "value 'Q' is not one of entered, confirmed" in reasons[2]
