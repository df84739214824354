"""Every fault the sample REST ERP can inject, through the real sync engine into a SQLite
store: either the read ends complete and correct, or it ends in one clear error with the
store holding exactly the rows up to the saved watermark (nothing half-loaded), and the
next run completes the stream."""

# ruff: noqa: F401, F811 - the fixtures come from tests.rest_erp_kit
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_core.pull import state
from crm_core.pull.sync import SyncEngine
from sample_erps.rest_erp import Fault
from sample_erps.rest_erp.server import RestErpServer
from tests.rest_erp_kit import erp, erp_db, erp_positions, erp_template, hub, store_keys

# source stream -> (API resource, store entity, key columns in the store)
STREAMS = {
    "customers": ("customers", "customers", ("customer_id",)),
    "orders": ("orders", "orders", ("order_id",)),
    "order_lines": ("order-lines", "order_lines", ("order_id", "line_no")),
    "inventory": ("stock", "inventory", ("item_id", "warehouse")),
    "credit": ("credit-accounts", "credit", ("customer_id",)),
}


def sync(engine: SyncEngine, stream: str) -> Any:
    [result] = engine.sync_source("rest_erp", [stream])
    return result


def watermark(engine: SyncEngine, stream: str) -> tuple[Any, ...] | None:
    with engine.store.connect() as conn:
        return state.get_position(conn, "rest_erp", stream)


#: the REST ERP's warehouse codes as the store keeps them (its mapping's site crosswalk)
SITES = yaml.safe_load(
    (Path(__file__).parents[1] / "mappings" / "rest_erp.yaml").read_text(encoding="utf-8")
)["crosswalks"]["site"]


def _canonical(stream: str, key: tuple[Any, ...]) -> tuple[Any, ...]:
    """An ERP record's key as the store holds it: inventory's warehouse is a canonical site."""
    if stream != "inventory":
        return key
    item, warehouse = key
    return (item, SITES.get(warehouse, warehouse))


def assert_loaded_up_to_watermark(engine: SyncEngine, db: Path, stream: str) -> int:
    """The store holds exactly the ERP's rows at or before the watermark; returns how many."""
    resource, entity, columns = STREAMS[stream]
    ordered = erp_positions(db, resource)
    mark = watermark(engine, stream)
    expected = sorted(_canonical(stream, p[1:]) for p in ordered if mark is not None and p <= mark)
    assert store_keys(engine.store, entity, columns) == expected
    return len(expected)


TRANSIENT = {
    "slow answer": ("orders", Fault("slow", path="/api/v1/orders", after=1, delay=1.0)),
    "500 twice": ("order_lines", Fault("status", path="/api/v1/order-lines", after=1, times=2)),
    "429": ("inventory", Fault("rate_limit", path="/api/v1/stock", after=2, retry_after=0)),
    "503": ("credit", Fault("status", path="/api/v1/credit-accounts", status=503)),
    "dropped connection": ("customers", Fault("drop", path="/api/v1/customers")),
    "malformed page": ("order_lines", Fault("malformed", path="/api/v1/order-lines", after=3)),
}


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_rest_transient_fault_ends_in_a_complete_and_correct_load(
    erp: RestErpServer, erp_db: Path, tmp_path: Path, name: str
) -> None:
    stream, fault = TRANSIENT[name]
    _, engine = hub(tmp_path, erp.api_url, page_size=25, read_timeout=0.5)
    erp.faults.add(fault)
    result = sync(engine, stream)
    assert fault.fired == fault.times, "the fault was injected"
    assert (result.status, result.error) == ("success", None)
    resource = STREAMS[stream][0]
    everything = erp_positions(erp_db, resource)
    assert watermark(engine, stream) == everything[-1]
    assert assert_loaded_up_to_watermark(engine, erp_db, stream) == len(everything)
    assert result.counts.rows_read == result.counts.rows_loaded == len(everything)


PERSISTENT = {
    "500": ("order_lines", Fault("status", path="/api/v1/order-lines", after=5, times=None)),
    "dropped connection": ("inventory", Fault("drop", path="/api/v1/stock", after=4, times=None)),
    "malformed page": ("orders", Fault("malformed", path="/api/v1/orders", after=4, times=None)),
    "429": (
        "credit",
        Fault("rate_limit", path="/api/v1/credit-accounts", retry_after=0, times=None),
    ),
    "slow answer": (
        "orders",
        Fault("slow", path="/api/v1/orders", after=2, delay=0.8, times=None),
    ),
}
REASONS = {
    "500": "500 Internal Server Error after 4 tries",
    "dropped connection": "the connection broke off while reading the page",
    "malformed page": "the page is not valid JSON",
    "429": "429 Too Many Requests after 4 tries",
    "slow answer": "no answer within 0.5s (read timeout)",
}


@pytest.mark.parametrize("name", sorted(PERSISTENT))
def test_rest_lasting_fault_ends_in_one_clear_error_with_nothing_half_loaded(
    erp: RestErpServer, erp_db: Path, tmp_path: Path, name: str
) -> None:
    stream, fault = PERSISTENT[name]
    _, engine = hub(tmp_path, erp.api_url, page_size=25, read_timeout=0.5)
    erp.faults.add(fault)
    failed = sync(engine, stream)
    assert failed.status == "failed" and failed.retriable
    assert "\n" not in failed.error and failed.error.startswith("source 'rest_erp': GET http")
    assert REASONS[name] in failed.error
    loaded = assert_loaded_up_to_watermark(engine, erp_db, stream)
    assert loaded == failed.counts.rows_loaded < len(erp_positions(erp_db, STREAMS[stream][0]))
    assert loaded % 100 == 0  # whole batches only (batch_size 100 over pages of 25)

    erp.faults.clear()
    again = sync(engine, stream)
    assert again.status == "success" and again.mode == ("incremental" if loaded else "full")
    total = assert_loaded_up_to_watermark(engine, erp_db, stream)
    assert total == len(erp_positions(erp_db, STREAMS[stream][0]))
    assert again.counts.rows_read == total - loaded  # nothing read twice
