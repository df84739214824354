"""``crm-hub init --from``: a first config and mapping proposed from a source's catalogue.

Real databases (PostgreSQL, MariaDB, SQLite) with tables of unknown names; the TODOs make
``crm-hub check`` fail with file:line until they are filled in, after which a sync loads.
Db2's catalogue queries cannot run here (no Db2 server): they are compiled with ibm_db_sa.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from connectors.db2.catalogue import QUERIES, CatalogueColumn, columns_query, family_of
from crm_core.discovery.catalogue import db2_tables
from mappings import load_mapping
from schemas.errors import MappingError
from tests.test_cli import crm_hub

GERMAN = [
    "CREATE TABLE kunden_stamm (kdnr char(10) PRIMARY KEY, name1 varchar(80), "
    "telefon varchar(40), ort varchar(60), geaendert_am timestamp)",
    "CREATE TABLE auftrags_kopf (auftrag_nr int PRIMARY KEY, kdnr char(10), auftragsdatum date, "
    "betrag numeric(12,2), waehrung char(3), geaendert_am timestamp)",
    "INSERT INTO kunden_stamm VALUES ('K1', 'Müller GmbH', '+49 30 1234', 'Berlin', "
    "'2026-01-02 10:00'), ('K2', '上海贸易有限公司', NULL, '上海', '2026-01-03 11:00')",
    "INSERT INTO auftrags_kopf VALUES (1, 'K1', '2026-01-05', 123.45, 'EUR', "
    "'2026-01-05 12:00'), (2, 'K2', '2026-01-06', 99.00, 'CNY', '2026-01-06 12:00')",
]
LEGACY = [
    "CREATE TABLE CUSMST (CUSNO CHAR(8) NOT NULL PRIMARY KEY, CUSNM CHAR(40), CUSTEL CHAR(20), "
    "CUSCTY CHAR(30), CUSCUR CHAR(3), CHGDATE DECIMAL(8,0), CHGTIME DECIMAL(6,0))",
    "CREATE TABLE ORDHDR (ORDNO DECIMAL(9,0) NOT NULL, CUSNO CHAR(8), ORDDT DECIMAL(8,0), "
    "ORDSTS CHAR(1), ORDCUR CHAR(3), ORDAMT DECIMAL(13,2), CHGDATE DECIMAL(8,0), "
    "CHGTIME DECIMAL(6,0), UNIQUE KEY ordno_u (ORDNO))",
    "INSERT INTO CUSMST VALUES ('C001    ', 'ACME TRADING', '021 555 0101', 'SHANGHAI', "
    "'CNY', 20260102, 93000), ('C002    ', 'BETA GMBH', '', 'HAMBURG', 'EUR', 20260103, 101500)",
    "INSERT INTO ORDHDR VALUES (1001, 'C001    ', 20260105, 'E', 'CNY', 1234.50, 20260105, "
    "120000), (1002, 'C002    ', 20260106, 'C', 'EUR', 99.00, 20260106, 130000)",
]


def _create(url: str, statements: list[str]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))
    engine.dispose()


def _init(url: str, out: Path, *more: str) -> tuple[str, Path]:
    res = crm_hub("init", "--from", url, "--config", str(out / "crm-hub.yaml"), *more, cwd=out)
    assert res.returncode == 0, res.stdout + res.stderr
    mapping = next((out / "mappings").glob("*.yaml"))
    return res.stdout, mapping


def _fill(mapping: Path, field: str, replacement: str) -> None:
    """What the user does: replace a TODO line by a choice."""
    lines = mapping.read_text(encoding="utf-8").splitlines()
    hits = [i for i, line in enumerate(lines) if re.match(rf"\s+{field}: {{todo:", line)]
    assert hits, f"no TODO for {field}"
    for i in hits:
        lines[i] = f"      {field}: {replacement}"
    mapping.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _sync_loads(out: Path, env: dict[str, str]) -> dict[str, int]:
    """check passes, sync succeeds: rows loaded per stream (``status --json``)."""
    config = str(out / "crm-hub.yaml")
    res = crm_hub("--config", config, "check", cwd=out, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    res = crm_hub("--config", config, "sync", "-q", cwd=out, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    res = crm_hub("--config", config, "status", "--json", cwd=out, env=env)
    return {run["stream"]: run["rows_loaded"] for run in json.loads(res.stdout)}


def _store(out: Path, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{out / 'crm-hub.db'}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def test_postgres_german_schema_proposes_customers_and_orders(pg_url: str, tmp_path: Path) -> None:
    _create(pg_url, GERMAN)
    secret_url = pg_url.replace("postgres@", "postgres:s3cret@")
    stdout, mapping = _init(secret_url, tmp_path, "--source", "erp")
    assert "s3cret" not in stdout and "export ERP_URL=" in stdout and "***" in stdout
    config_text = (tmp_path / "crm-hub.yaml").read_text(encoding="utf-8")
    assert "s3cret" not in config_text
    config = yaml.safe_load(config_text)
    source = config["sources"]["erp"]
    assert source["url_env"] == "ERP_URL" and source["mapping"] == "mappings/erp.yaml"
    assert source["streams"]["kunden_stamm"] == {
        "table": "kunden_stamm",
        "primary_key": ["kdnr"],
        "cursor": ["geaendert_am"],
    }
    assert source["streams"]["auftrags_kopf"]["primary_key"] == ["auftrag_nr"]
    fields = {
        s: v["fields"]
        for s, v in yaml.safe_load(mapping.read_text(encoding="utf-8"))["streams"].items()
    }
    assert fields["kunden_stamm"]["customer_id"] == {"from": "kdnr", "transforms": ["trim"]}
    assert fields["kunden_stamm"]["name"]["from"] == "name1"
    assert fields["kunden_stamm"]["phone"]["from"] == "telefon"
    assert fields["auftrags_kopf"]["total_amount"] == {"from": "betrag", "transforms": ["decimal"]}
    assert fields["auftrags_kopf"]["order_date"]["from"] == "auftragsdatum"
    assert fields["auftrags_kopf"]["status"] == {"todo": []}

    # nothing filled in: check names the TODO with its file and line, exit 2
    env = {"ERP_URL": pg_url}
    res = crm_hub("--config", str(tmp_path / "crm-hub.yaml"), "check", cwd=tmp_path, env=env)
    assert res.returncode == 2, res.stdout + res.stderr
    found = re.search(
        rf"{re.escape(str(mapping))}:(\d+): streams\.auftrags_kopf\.fields\.status: "
        r"TODO: choose a column",
        res.stderr,
    )
    assert found, res.stderr
    line = mapping.read_text(encoding="utf-8").splitlines()[int(found.group(1)) - 1]
    assert line.strip().startswith("status: {todo:")

    # a second init refuses to overwrite, --force does
    again = crm_hub(
        "init",
        "--from",
        pg_url,
        "--config",
        str(tmp_path / "crm-hub.yaml"),
        "--source",
        "erp",
        cwd=tmp_path,
    )
    assert again.returncode == 2 and "--force" in again.stderr

    _fill(mapping, "status", "{value: entered}")
    load_mapping(mapping)  # the offline validation: no problem left
    assert _sync_loads(tmp_path, env) == {"kunden_stamm": 2, "auftrags_kopf": 2}
    assert _store(tmp_path, "SELECT customer_id, name FROM customers ORDER BY 1") == [
        ("K1", "Müller GmbH"),
        ("K2", "上海贸易有限公司"),
    ]
