"""The REST connector against the sample REST ERP on loopback: paging, incremental reads
with ties on the cursor, order checks, timeouts, retries and clear errors."""

# ruff: noqa: F401, F811 - the fixtures come from tests.rest_erp_kit
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine, insert, select

from crm_core.pull import positions
from sample_erps.rest_erp import Fault
from sample_erps.rest_erp.schema import STOCK
from sample_erps.rest_erp.server import RestErpServer
from schemas.errors import ConfigError, FatalSyncError, RetriableError
from tests.rest_erp_kit import (
    FAST,
    connector,
    erp,
    erp_db,
    erp_positions,
    erp_rows,
    erp_template,
)

LINES = {"path": "/order-lines", "columns": ["name"]}
LINE_KEY = ["order_id", "line_no"]

STYLES = {
    "page": {"style": "page", "page_size": 37},
    "page_with_total": {"style": "page", "page_size": 37, "total_path": "meta.total"},
    "offset": {"style": "offset", "page_size": 37},
    "cursor": {"style": "cursor", "page_size": 37},
    "next_link": {"style": "next_link", "size_param": "limit", "page_size": 37},
    "link_header": {"style": "link_header", "size_param": "limit", "page_size": 37},
}


def keys(frames: list[pl.DataFrame], columns: list[str]) -> list[tuple[object, ...]]:
    return [tuple(r) for f in frames for r in f.select(columns).iter_rows()]


@pytest.mark.parametrize("style", sorted(STYLES))
def test_rest_each_pagination_style_reads_every_row_once_in_order(
    erp: RestErpServer, erp_db: Path, style: str
) -> None:
    expected = [(r["order_id"], r["line_no"]) for r in erp_rows(erp_db, "order-lines")]
    stream = {**LINES, "pagination": STYLES[style]}
    with connector(erp.api_url, stream, primary_key=LINE_KEY) as conn:
        batches = list(conn.read("s", None, batch_size=50))
    assert keys(batches, LINE_KEY) == expected and len(expected) > 300
    assert all(b.height == 50 for b in batches[:-1]) and 0 < batches[-1].height <= 50
    first = erp_rows(erp_db, "order-lines")[0]
    assert batches[0].schema["updated_at"] == pl.Datetime("us", "UTC")
    assert batches[0]["updated_at"][0] == datetime.fromisoformat(first["updated_at"])
    pages = len(erp.requests_to("/api/v1/order-lines"))
    assert pages >= len(expected) // 37  # the API was really paged


def test_rest_a_stream_without_paging_is_one_request(erp: RestErpServer, erp_db: Path) -> None:
    stream = {"path": "/stock", "params": {"limit": 1000}}
    with connector(erp.api_url, stream, primary_key=["sku", "location"], cursor=[]) as conn:
        rows = sum(b.height for b in conn.read("s", None, 1000))
    assert rows == len(erp_rows(erp_db, "stock")) and len(erp.log) == 1


def test_rest_incremental_read_after_a_position_inside_a_tie_on_the_cursor(
    erp: RestErpServer, erp_db: Path
) -> None:
    # the nightly stock job stamped every row of a location with one moment
    ordered = erp_positions(erp_db, "stock")
    assert len({p[0] for p in ordered}) == 2 and len(ordered) > 150  # Shanghai, Hamburg
    stream = {"path": "/stock", "pagination": {"style": "offset", "page_size": 30}}
    with connector(erp.api_url, stream, primary_key=["sku", "location"]) as conn:
        everything = list(conn.read("s", None, 25))
        whole = keys(everything, ["updated_at", "sku", "location"])
        assert whole == ordered
        # the position as the store gives it back: in the middle of a group of ties
        saved = positions.decode(positions.encode(whole[100]))
        assert saved[0] == whole[99][0] == whole[101][0]
        erp.log.clear()
        after = keys(list(conn.read("s", saved, 25)), ["updated_at", "sku", "location"])
    assert after == ordered[101:]
    query = erp.log[0].query
    assert "updated_since=" in query and saved[0].strftime("%Y-%m-%dT%H%%3A%M") in query


def test_rest_rows_added_later_with_the_watermarks_timestamp_are_read(
    erp: RestErpServer, erp_db: Path
) -> None:
    stream = {"path": "/stock", "pagination": {"style": "cursor", "page_size": 40}}
    with connector(erp.api_url, stream, primary_key=["sku", "location"]) as conn:
        last = keys(list(conn.read("s", None, 100)), ["updated_at", "sku", "location"])[-1]
        engine = create_engine(f"sqlite:///{erp_db}")
        with engine.begin() as db:
            row = db.execute(select(STOCK).where(STOCK.c.sku == last[1])).first()
            extra = [{**row._mapping, "sku": f"{last[1]}-X{i}"} for i in range(3)]
            db.execute(insert(STOCK), extra)  # same stamp, later key
        engine.dispose()
        again = keys(list(conn.read("s", last, 100)), ["sku"])
    assert again == [(f"{last[1]}-X{i}",) for i in range(3)]


def test_rest_unsorted_api_is_gathered_and_sorted_or_refused(
    erp: RestErpServer, erp_db: Path
) -> None:
    expected = erp_positions(erp_db, "orders")
    by_id = {"path": "/orders", "params": {"sort": "id"}, "pagination": {"style": "page"}}
    with connector(erp.api_url, {**by_id, "sorted": False}, primary_key=["id"]) as conn:
        got = keys(list(conn.read("s", None, 30)), ["updated_at", "id"])
        assert got == expected
        assert keys(list(conn.read("s", expected[60], 30)), ["updated_at", "id"]) == expected[61:]
    with (
        connector(erp.api_url, by_id, primary_key=["id"]) as conn,
        pytest.raises(FatalSyncError, match=r"out of cursor order.*sorted: false"),
    ):
        list(conn.read("s", None, 30))


def test_rest_check_reports_streams_whose_records_lack_the_declared_fields(
    erp: RestErpServer,
) -> None:
    stream = {"path": "/orders", "pagination": {"style": "cursor"}}
    with (
        connector(erp.api_url, stream, primary_key=["order_no"]) as conn,
        pytest.raises(ConfigError) as info,
    ):
        conn.check()
    assert "order_no" in str(info.value) and "stream 's'" in str(info.value)
    with connector(erp.api_url, stream, primary_key=["id"]) as conn:
        conn.check()


def test_rest_options_are_validated_with_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        connector(
            "http://127.0.0.1:9/api",
            {"table": "ORDERS", "pagination": {"style": "pages"}, "cursor_timezone": "Mars/Base"},
            primary_key=["id"],
            source={"timeout": {"read": -1}, "auth": {"type": "bearer"}},
        )
    text = str(info.value)
    for part in ("options.timeout.read", "options.auth", "pagination", "Mars/Base", "path"):
        assert part in text
    assert "table" in text


def test_rest_slow_answers_time_out_with_one_clear_line_or_succeed_on_retry(
    erp: RestErpServer,
) -> None:
    stream = {"path": "/orders", "pagination": {"style": "cursor", "page_size": 50}}
    quick = {"timeout": {"connect": 1, "read": 0.2}, "retries": {**FAST["retries"], "attempts": 0}}
    erp.faults.add(Fault("slow", path="/api/v1/orders", delay=0.6, times=None))
    started = datetime.now(UTC)
    with (
        connector(erp.api_url, stream, primary_key=["id"], source=quick) as conn,
        pytest.raises(RetriableError) as info,
    ):
        list(conn.read("s", None, 100))
    assert (datetime.now(UTC) - started).total_seconds() < 1.5
    message = str(info.value)
    assert "\n" not in message and "no answer within 0.2s (read timeout)" in message
    assert "source 'erp': GET http://127.0.0.1:" in message and "/api/v1/orders" in message
    erp.faults.clear()
    erp.faults.add(Fault("slow", path="/api/v1/orders", after=1, delay=0.6, times=1))
    retrying = {"timeout": {"connect": 1, "read": 0.2}, "retries": FAST["retries"]}
    with connector(erp.api_url, stream, primary_key=["id"], source=retrying) as conn:
        assert sum(b.height for b in conn.read("s", None, 100)) > 100


def test_rest_retry_after_is_honoured_on_429(erp: RestErpServer) -> None:
    erp.faults.add(Fault("rate_limit", path="/api/v1/credit-accounts", retry_after=1))
    stream = {"path": "/credit-accounts", "pagination": {"style": "link_header"}}
    with connector(erp.api_url, stream, primary_key=["customer_id"]) as conn:
        assert sum(b.height for b in conn.read("s", None, 100)) >= 25
    limited, retried = erp.requests_to("/api/v1/credit-accounts")[:2]
    assert limited.status == 429 and retried.status == 200
    assert retried.at - limited.at >= 0.95  # the server said 1 second; backoff alone is 0.01


def test_rest_server_errors_are_retried_then_reported_with_status_and_tries(
    erp: RestErpServer,
) -> None:
    stream = {"path": "/orders", "pagination": {"style": "cursor", "page_size": 50}}
    erp.faults.add(Fault("status", path="/api/v1/orders", status=503, after=1, times=2))
    with connector(erp.api_url, stream, primary_key=["id"]) as conn:
        assert sum(b.height for b in conn.read("s", None, 100)) > 100
    erp.faults.clear()
    erp.faults.add(Fault("status", path="/api/v1/orders", status=500, after=1, times=None))
    with (
        connector(erp.api_url, stream, primary_key=["id"]) as conn,
        pytest.raises(RetriableError) as info,
    ):
        list(conn.read("s", None, 100))
    message = str(info.value)
    assert "500 Internal Server Error after 4 tries" in message and "page 2" in message
    assert "?" not in message and "\n" not in message


def test_rest_dropped_and_malformed_pages_are_fetched_again_or_reported(
    erp: RestErpServer,
) -> None:
    stream = {"path": "/orders", "pagination": {"style": "cursor", "page_size": 50}}
    erp.faults.add(
        Fault("drop", path="/api/v1/orders", after=1),
        Fault("malformed", path="/api/v1/orders", after=2),
    )
    with connector(erp.api_url, stream, primary_key=["id"]) as conn:
        ids = keys(list(conn.read("s", None, 1000)), ["id"])
    assert len(ids) == len(set(ids)) > 100
    for kind, reason in (("drop", "broke off"), ("malformed", "not valid JSON")):
        erp.faults.clear()
        erp.faults.add(Fault(kind, path="/api/v1/orders", times=None))
        with (
            connector(erp.api_url, stream, primary_key=["id"]) as conn,
            pytest.raises(RetriableError, match=f"{reason}.*tried 3 times"),
        ):
            list(conn.read("s", None, 1000))


def test_rest_client_errors_are_clear_config_errors(erp: RestErpServer) -> None:
    with (
        connector(erp.api_url, {"path": "/ordres"}, primary_key=["id"]) as conn,
        pytest.raises(ConfigError, match=r"404 Not Found: check the stream's options.path"),
    ):
        list(conn.read("s", None, 10))
    with (
        connector(
            erp.api_url, {"path": "/orders", "params": {"sort": "amount"}}, primary_key=["id"]
        ) as conn,
        pytest.raises(ConfigError, match="400 Bad Request: sort must be updated_at or id"),
    ):
        list(conn.read("s", None, 10))


def test_rest_closed_port_is_a_retriable_error_naming_the_url() -> None:
    with (
        connector("http://127.0.0.1:9/api/v1", {"path": "/orders"}, primary_key=["id"]) as conn,
        pytest.raises(RetriableError) as info,
    ):
        list(conn.read("s", None, 10))
    assert str(info.value) == (
        "source 'erp': GET http://127.0.0.1:9/api/v1/orders (stream 's' page 1): "
        "connection refused (after 4 tries)"
    )


def test_rest_next_links_to_another_host_are_not_followed(erp: RestErpServer) -> None:
    source = {**FAST, "headers": {"Host": "elsewhere.example:8080"}}  # the server echoes it
    stream = {
        "path": "/orders",
        "pagination": {"style": "next_link", "size_param": "limit", "page_size": 20},
    }
    with (
        connector(erp.api_url, stream, primary_key=["id"], source=source) as conn,
        pytest.raises(FatalSyncError, match=r"elsewhere\.example.*not followed"),
    ):
        list(conn.read("s", None, 100))
