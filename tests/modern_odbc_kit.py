"""The sample modern ERP as a ``kind: odbc`` source on the machine's MariaDB or PostgreSQL,
read through unixODBC with Debian's ``MariaDB Unicode`` / ``PostgreSQL Unicode`` drivers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from connectors.odbc import OdbcConnector
from connectors.testing import ConnectorConformance
from sample_erps import modern_erp
from schemas.settings import SourceConfig
from tests.conftest import MARIADB_ADMIN, PG_ADMIN, _scratch_database

DRIVERS = {"mysql": "MariaDB Unicode", "postgresql": "PostgreSQL Unicode"}
#: generator count label -> streams
LABELS = {
    "customers": ("customers", "credit"),
    "orders": ("orders",),
    "order lines": ("order_lines",),
    "stock quants": ("inventory",),
    "invoices": ("invoices",),
    "payments": ("payments",),
}


def odbc_url(url: str) -> str:
    """The ``odbc://`` URL of the same database as a SQLAlchemy URL."""
    u = make_url(url)
    return f"odbc://{u.username}@{u.host}:{u.port}/{u.database}"


def driver_for(url: str) -> str:
    """The Debian ODBC driver for the database behind a SQLAlchemy URL."""
    return DRIVERS[make_url(url).get_backend_name()]


def expected_rows(counts: dict[str, int]) -> dict[str, int]:
    """The generator's counts per table as rows per stream."""
    return {stream: n for label, n in counts.items() for stream in LABELS[label]}


def streams_config(names: list[str] | None = None) -> dict[str, dict[str, object]]:
    """The ``streams`` of a modern ERP source (all, or the ``names`` given)."""
    return {
        name: {"table": table, "primary_key": key, "cursor": cursor}
        for name, (table, key, cursor) in modern_erp.STREAMS.items()
        if names is None or name in names
    }


def write_files(
    folder: Path, store_url: str, url_env: str, driver: str, timezone: str, batch_size: int
) -> Path:
    """A crm-hub.yaml with the modern ERP as an ODBC source, and its mapping; the config."""
    mapping = files("mappings").joinpath("modern_erp.yaml").read_text(encoding="utf-8")
    (folder / "modern_erp.yaml").write_text(mapping, encoding="utf-8")
    lines = [
        "store:",
        f"  url: {store_url}",
        "defaults:",
        f"  batch_size: {batch_size}",
        "sources:",
        "  modern_erp:",
        "    kind: odbc",
        f"    url_env: {url_env}",
        "    mapping: modern_erp.yaml",
        f"    options: {{driver: {driver}, timezone: {timezone}}}",
        "    streams:",
    ]
    for name, spec in streams_config().items():
        lines.append(
            f"      {name}: {{table: {spec['table']}, primary_key: {spec['primary_key']}, "
            f"cursor: {spec['cursor']}}}"
        )
    path = folder / "crm-hub.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fill(url: str, customers: int, seed: int = 3) -> dict[str, int]:
    """Create and fill the modern ERP at ``url`` (native driver); rows per stream."""
    engine = create_engine(url)
    modern_erp.create_schema(engine)
    counts = modern_erp.generate(engine, seed=seed, as_of=date(2026, 11, 20), customers=customers)
    engine.dispose()
    return expected_rows(counts)


CONFORMANCE_STREAMS = ["customers", "orders", "order_lines", "inventory", "invoices", "payments"]
WRONG = "Wrong-Pw-0042"


def odbc_source(url_env: str, driver: str, timezone: str = "UTC") -> OdbcConnector:
    """The modern ERP as an ODBC source, its URL in the variable ``url_env``."""
    cfg = SourceConfig(
        kind="odbc",
        url_env=url_env,
        mapping=Path("modern_erp.yaml"),
        options={"driver": driver, "timezone": timezone},
        streams=streams_config(CONFORMANCE_STREAMS),
    )
    return OdbcConnector("modern_erp", cfg)


class ModernErpConformance(ConnectorConformance):
    """The kit over a small modern ERP read through ODBC; subclasses choose the server."""

    admin_url = MARIADB_ADMIN
    timezone = "UTC"
    batch_size = 40

    @pytest.fixture(scope="class")
    @classmethod
    def erp(cls) -> Iterator[tuple[str, dict[str, int]]]:
        for url in _scratch_database(cls.admin_url, "crmhub_modern_conformance"):
            counts = fill(url, customers=12)
            yield url, {s: n for s, n in counts.items() if s in CONFORMANCE_STREAMS}

    @pytest.fixture
    def source(
        self, erp: tuple[str, dict[str, int]], monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[OdbcConnector]:
        monkeypatch.setenv("MODERN_ODBC_URL", odbc_url(erp[0]))
        with odbc_source("MODERN_ODBC_URL", driver_for(erp[0]), self.timezone) as source:
            yield source

    @pytest.fixture
    def expected_rows(self, erp: tuple[str, dict[str, int]]) -> dict[str, int]:
        return erp[1]

    @pytest.fixture
    def records_to_write(self) -> dict[str, list[dict[str, object]]]:
        """A contact change of the first partner, through the ODBC write path."""
        return {
            "customers": [{"id": 1, "phone": "+86 21 5555 0100", "email": "odbc.write@example.com"}]
        }

    @pytest.fixture
    def bad_credentials(
        self, erp: tuple[str, dict[str, int]], monkeypatch: pytest.MonkeyPatch
    ) -> tuple[OdbcConnector, str]:
        user = "root" if self.admin_url == MARIADB_ADMIN else "no_such_user"
        u = make_url(erp[0])
        monkeypatch.setenv(
            "WRONG_ODBC_URL", f"odbc://{user}:{WRONG}@{u.host}:{u.port}/{u.database}"
        )
        return odbc_source("WRONG_ODBC_URL", driver_for(erp[0])), WRONG


__all__ = ["PG_ADMIN", "ModernErpConformance"]
