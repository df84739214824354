"""The sample legacy ERP as a ``kind: db2`` source, for tests that run the DB2 code path on a
stand-in database (PostgreSQL or SQLite; no Db2 server runs here) or on a live Db2."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from connectors.base import BaseConnector
from connectors.db2 import Db2Connector
from connectors.sql import SqlConnector
from connectors.testing import ConnectorConformance
from sample_erps import legacy_erp
from sample_erps.legacy_erp_schema import METADATA
from schemas.settings import SourceConfig
from tests.conftest import PG_ADMIN, _scratch_database

#: stream -> (file, primary key, change-stamp prefix), as the demo declares them
STREAMS = {
    "customers": ("RCM", ["CCUST"], "C"),
    "orders": ("ECH", ["HORD"], "H"),
    "order_lines": ("ECL", ["LORD", "LLINE"], "L"),
    "inventory": ("ILI", ["LPROD", "LWHS"], "L"),
    "credit": ("RCR", ["CCUST"], "C"),
    "invoices": ("RAR", ["RINVN"], "R"),
    "payments": ("RPY", ["PPAYN"], "P"),
    "concessions": ("RCN", ["NREF"], "N"),
    "assets": ("ISN", ["SSER"], "S"),
}
#: generator count label -> stream
LABELS = {
    "customers": "customers",
    "orders": "orders",
    "order lines": "order_lines",
    "item balances": "inventory",
    "credit records": "credit",
    "invoices": "invoices",
    "payments": "payments",
    "concessions": "concessions",
    "serial numbers": "assets",
}


def streams_config(names: list[str] | None = None) -> dict[str, dict[str, object]]:
    """The ``streams`` of a legacy ERP source (all, or the ``names`` given)."""
    return {
        name: {"table": table, "primary_key": key, "cursor": [f"{p}CHGD", f"{p}CHGT"]}
        for name, (table, key, p) in STREAMS.items()
        if names is None or name in names
    }


def config_yaml(store_url: str, url_env: str, batch_size: int, stand_in: bool = True) -> str:
    """A crm-hub.yaml with the legacy ERP as a kind-db2 source read with WITH UR."""
    lines = [
        "store:",
        f"  url: {store_url}",
        "defaults:",
        f"  batch_size: {batch_size}",
        "sources:",
        "  legacy_erp:",
        "    kind: db2",
        f"    url_env: {url_env}",
        "    mapping: legacy_erp.yaml",
        f"    options: {{isolation: UR, stand_in: {'true' if stand_in else 'false'}}}",
        "    streams:",
    ]
    for name, spec in streams_config().items():
        lines.append(
            f"      {name}: {{table: {spec['table']}, primary_key: {spec['primary_key']}, "
            f"cursor: {spec['cursor']}}}"
        )
    return "\n".join(lines) + "\n"


def write_files(
    folder: Path, store_url: str, url_env: str, batch_size: int, stand_in: bool = True
) -> Path:
    """Write the config and the shipped legacy mapping into ``folder``; return the config."""
    mapping = files("mappings").joinpath("legacy_erp.yaml").read_text(encoding="utf-8")
    (folder / "legacy_erp.yaml").write_text(mapping, encoding="utf-8")
    path = folder / "crm-hub.yaml"
    path.write_text(config_yaml(store_url, url_env, batch_size, stand_in), encoding="utf-8")
    return path


def expected_rows(counts: dict[str, int]) -> dict[str, int]:
    """The generator's counts per table as rows per stream."""
    return {LABELS[label]: n for label, n in counts.items()}


def drop_schema(engine: Engine) -> None:
    """Drop the nine legacy files (tables) if they exist."""
    METADATA.drop_all(engine)


CONFORMANCE_STREAMS = [
    "customers",
    "orders",
    "order_lines",
    "credit",
    "invoices",
    "payments",
    "concessions",
]
WRONG = "Wrong-Pw-0815"


def legacy_erp_at(url: str) -> dict[str, int]:
    """Fill a small legacy ERP at ``url``; rows per stream."""
    engine = create_engine(url)
    legacy_erp.create_schema(engine)
    counts = legacy_erp.generate(engine, seed=5, as_of=date(2026, 11, 20), customers=6)
    engine.dispose()
    return {s: n for s, n in expected_rows(counts).items() if s in CONFORMANCE_STREAMS}


def connector(kind: str, url_env: str) -> BaseConnector:
    """The legacy ERP as a source of ``kind``, its URL in the variable ``url_env``."""
    options = {"stand_in": True, "isolation": "UR"} if kind == "db2" else {}
    cfg = SourceConfig(
        kind=kind,
        url_env=url_env,
        mapping=Path("legacy_erp.yaml"),
        options=options,
        streams=streams_config(CONFORMANCE_STREAMS),
    )
    return (Db2Connector if kind == "db2" else SqlConnector)("legacy_erp", cfg)


class LegacyErpConformance(ConnectorConformance):
    """The kit over the small legacy ERP; subclasses choose connector kind and database."""

    kind = "sql"
    backend = "sqlite"
    batch_size = 25

    @pytest.fixture(scope="class")
    @classmethod
    def erp(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
        if cls.backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('erp') / 'legacy_erp.db'}"
            yield url, legacy_erp_at(url)
        else:
            for url in _scratch_database(PG_ADMIN, "crmhub_conformance"):
                yield url, legacy_erp_at(url)

    @pytest.fixture
    def source(
        self, erp: tuple[str, dict], monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[BaseConnector]:
        monkeypatch.setenv("CONFORMANCE_URL", erp[0])
        with connector(self.kind, "CONFORMANCE_URL") as source:
            yield source

    @pytest.fixture
    def expected_rows(self, erp: tuple[str, dict]) -> dict[str, int]:
        return erp[1]

    @pytest.fixture
    def records_to_write(self) -> dict[str, list[dict[str, object]]]:
        """A concession booked through the write path (CHAR values at their full width,
        as the database reads them back)."""
        return {
            "concessions": [
                {
                    "NREF": "CONFORMANCE-000000000001",
                    "NCUST": "C010001".ljust(10),
                    "NORD": " " * 10,
                    "NTYPE": "A",
                    "NAMT": 12_345,
                    "NPCT": None,
                    "NCUR": "CNY",
                    "NRSN": "conformance kit",
                    "NAPPR": "王经理".ljust(40),
                    "NFDT": 20260101,
                    "NTDT": 0,
                    "NSTAT": "A",
                    "NCHGD": 20200101,
                    "NCHGT": 120000,
                }
            ]
        }

    @pytest.fixture
    def bad_credentials(
        self, erp: tuple[str, dict], monkeypatch: pytest.MonkeyPatch
    ) -> tuple[BaseConnector, str] | None:
        if self.backend == "sqlite":
            return None
        wrong = make_url(erp[0]).set(username="no_such_user", password=WRONG)
        monkeypatch.setenv("WRONG_URL", wrong.render_as_string(hide_password=False))
        return connector(self.kind, "WRONG_URL"), WRONG
