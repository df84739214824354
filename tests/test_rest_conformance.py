"""The REST connector passes the connector conformance kit (connectors.testing), over the
sample REST ERP served on loopback: all seven streams, each with its own paging style.

The kit's own checks of the same kinds (readable streams, bounded batches, position
order, reads after a position, bad credentials) are also in test_rest_connector.py and
test_rest_auth.py, so this module is skipped only where the kit is not installed."""

# ruff: noqa: F401, F811 - the fixtures come from tests.rest_erp_kit
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.rest import RestConnector
from sample_erps import rest_erp
from sample_erps.rest_erp.api import RESOURCES
from schemas.settings import load_config
from schemas.source import Source
from tests.rest_erp_kit import MAPPING, erp_db, erp_rows, erp_template

ConnectorConformance = pytest.importorskip(
    "connectors.testing", reason="the connector conformance kit is not there"
).ConnectorConformance

TOKEN = "conformance-T0ken"
STREAMS = {
    "customers": "customers",
    "orders": "orders",
    "order_lines": "order-lines",
    "inventory": "stock",
    "credit": "credit-accounts",
    "invoices": "invoices",
    "payments": "payments",
}


def _connector(tmp_path: Path, url: str) -> RestConnector:
    text = "sources:\n" + rest_erp.source_config(
        url, mapping=str(MAPPING), auth="bearer", page_size=60, attempts=1, backoff=0.01
    )
    path = tmp_path / "crm-hub.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    return RestConnector("rest_erp", config.sources["rest_erp"], tmp_path)


class TestRestConformance(ConnectorConformance):
    """The conformance kit's tests, run on the REST connector."""

    batch_size = 25

    @pytest.fixture
    def server(self, erp_db: Path) -> Iterator[rest_erp.RestErpServer]:
        with rest_erp.serve(erp_db, auth=rest_erp.Auth(bearer_tokens=frozenset({TOKEN}))) as s:
            yield s

    @pytest.fixture
    def source(
        self, server: rest_erp.RestErpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[Source]:
        monkeypatch.setenv("REST_ERP_TOKEN", TOKEN)
        with _connector(tmp_path, server.api_url) as conn:
            yield conn

    @pytest.fixture
    def expected_rows(self, erp_db: Path) -> dict[str, int]:
        return {stream: len(erp_rows(erp_db, res)) for stream, res in STREAMS.items()}

    @pytest.fixture
    def records_to_write(self) -> dict[str, list[dict[str, str]]]:
        return {
            "customers": [
                {
                    "id": "CU-77001",
                    "type": "company",
                    "name": "杭州新名字贸易有限公司",
                    "currency": "CNY",
                    "address.city": "杭州",
                },
                {"id": "CU-77002", "type": "individual", "name": "Li Wei", "currency": "EUR"},
            ]
        }

    @pytest.fixture
    def bad_credentials(
        self, server: rest_erp.RestErpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> tuple[Source, str]:
        monkeypatch.setenv("REST_ERP_TOKEN", "Wr0ng-token")
        return _connector(tmp_path, server.api_url), "Wr0ng-token"


def test_rest_conformance_streams_cover_every_resource_of_the_sample_erp() -> None:
    assert sorted(STREAMS.values()) == sorted(RESOURCES)
