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


def test_mariadb_legacy_char_columns_and_change_stamp_pair(
    mariadb_url: str, tmp_path: Path
) -> None:
    _create(mariadb_url, LEGACY)
    _, mapping = _init(mariadb_url, tmp_path, "--source", "legacy")
    config = yaml.safe_load((tmp_path / "crm-hub.yaml").read_text(encoding="utf-8"))
    streams = config["sources"]["legacy"]["streams"]
    assert streams["cusmst"]["cursor"] == ["CHGDATE", "CHGTIME"]
    assert streams["ordhdr"]["primary_key"] == ["ORDNO"]  # from the unique index
    text_ = (tmp_path / "crm-hub.yaml").read_text(encoding="utf-8")
    assert "primary_key: [ORDNO]   # unique index" in text_
    fields = yaml.safe_load(mapping.read_text(encoding="utf-8"))["streams"]
    customers, orders = fields["cusmst"]["fields"], fields["ordhdr"]["fields"]
    assert fields["cusmst"]["entity"] == "customers" and fields["ordhdr"]["entity"] == "orders"
    assert customers["customer_id"] == {"from": "CUSNO", "transforms": ["trim"]}
    assert customers["name"] == {"from": "CUSNM", "transforms": ["trim"]}
    assert customers["updated_at"] == {
        "from": ["CHGDATE", "CHGTIME"],
        "transforms": ["yyyymmdd_hhmmss"],
    }
    assert orders["order_id"] == {"from": "ORDNO", "transforms": ["to_str"]}
    assert orders["order_date"] == {"from": "ORDDT", "transforms": ["yyyymmdd"]}
    assert orders["currency"] == {"from": "ORDCUR", "transforms": ["trim", "upper"]}
    assert orders["status"] == {"todo": ["ORDSTS"]}  # a code table is the user's to write
    with pytest.raises(MappingError, match=r"ordhdr\.fields\.status: TODO.*ORDSTS"):
        load_mapping(mapping)

    _fill(mapping, "status", "{from: ORDSTS, transforms: [{code: order_status}]}")
    text_ = mapping.read_text(encoding="utf-8")
    text_ = text_.replace(
        "\nstreams:", "\ncode_tables:\n  order_status: {E: entered, C: confirmed}\nstreams:"
    )
    mapping.write_text(text_, encoding="utf-8")
    load_mapping(mapping)
    assert _sync_loads(tmp_path, {"LEGACY_URL": mariadb_url}) == {"cusmst": 2, "ordhdr": 2}
    assert _store(tmp_path, "SELECT order_id, status, customer_id FROM orders ORDER BY 1") == [
        ("1001", "entered", "C001"),
        ("1002", "confirmed", "C002"),
    ]


def test_sqlite_without_keys_guesses_one_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    _create(
        f"sqlite:///{db}",
        [
            "CREATE TABLE client (client_id INTEGER PRIMARY KEY, name TEXT, email TEXT, "
            "vat TEXT, modified TIMESTAMP)",
            "CREATE TABLE sale_lines (order_no INTEGER NOT NULL, line INTEGER NOT NULL, "
            "sku TEXT, qty NUMERIC(12,3), price NUMERIC(12,2), amount NUMERIC(12,2))",
            "CREATE TABLE audit_log (msg TEXT, at TIMESTAMP)",
        ],
    )
    out = tmp_path / "out"
    out.mkdir()
    stdout, mapping = _init(f"sqlite:///{db}", out)
    assert mapping.name == "shop.yaml"  # the source is named after the database
    assert "left out: audit_log" in stdout
    text_ = (out / "crm-hub.yaml").read_text(encoding="utf-8")
    config = yaml.safe_load(text_)
    streams = config["sources"]["shop"]["streams"]
    assert set(streams) == {"client", "sale_lines"}
    assert streams["sale_lines"]["primary_key"] == ["order_no", "line"]
    assert "primary_key: [order_no, line]   # guessed: check it is unique" in text_
    assert "cursor" not in streams["sale_lines"] and "read in full every run" in text_
    fields = yaml.safe_load(mapping.read_text(encoding="utf-8"))["streams"]
    assert fields["sale_lines"]["entity"] == "order_lines"
    assert fields["sale_lines"]["fields"]["quantity"] == {"from": "qty", "transforms": ["decimal"]}
    assert fields["client"]["fields"]["email"] == {"from": "email", "transforms": ["trim", "lower"]}
    load_mapping(mapping)  # nothing required was left to choose


def test_db2_catalogue_queries_compile_with_ibm_db_sa() -> None:
    from sqlalchemy.dialects import registry

    dialect = registry.load("ibm_db_sa")()
    for family, catalogue in (
        ("i", "QSYS2.SYSCOLUMNS"),
        ("zos", "SYSIBM.SYSCOLUMNS"),
        ("luw", "SYSCAT.COLUMNS"),
    ):
        compiled = columns_query(family).compile(dialect=dialect)
        sql = str(compiled)
        assert catalogue in sql and "= ?" in sql and compiled.positiontup == ["schema"]
        assert QUERIES[family].strip().replace(":schema", "?") in sql
        assert [c.name for c in columns_query(family).selected_columns] == list(
            CatalogueColumn._fields
        )
    assert [family_of(n) for n in ("AS", "DB2/LINUXX8664", "DB2", "DSN12015")] == [
        "i",
        "luw",
        "zos",
        "zos",
    ]


def test_db2_catalogue_rows_become_tables_with_their_key_in_order() -> None:
    rows = [
        CatalogueColumn("ERP", "OLINE", "LORD", 1, "DECIMAL", 9, 0, False, 2),
        CatalogueColumn("ERP", "OLINE", "LLINE", 2, "DECIMAL", 4, 0, False, 3),
        CatalogueColumn("ERP", "OLINE", "LCMP", 3, "CHAR", 2, None, False, 1),
        CatalogueColumn("ERP", "OLINE", "LPRIC", 4, "DECIMAL", 11, 4, True, None),
        CatalogueColumn("ERP", "OLINE", "LCHGTS", 5, "TIMESTMP", 10, None, True, None),
    ]
    (table,) = db2_tables(rows)
    assert table.primary_key == ["LCMP", "LORD", "LLINE"]
    assert [c.name for c in table.columns] == ["LORD", "LLINE", "LCMP", "LPRIC", "LCHGTS"]
    assert [c.kind for c in table.columns] == ["int", "int", "char", "decimal", "datetime"]


def test_openapi_document_proposes_rest_streams(tmp_path: Path) -> None:
    doc = {
        "openapi": "3.1.0",
        "servers": [{"url": "https://erp.example.com/api/v1"}],
        "paths": {
            "/customers": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "data": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/C"},
                                            },
                                        },
                                    },
                                }
                            }
                        }
                    }
                }
            },
            "/customers/{id}": {"get": {"responses": {}}},
        },
        "components": {
            "schemas": {
                "C": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "email": {"type": "string"},
                        "updated_at": {"type": "string", "format": "date-time"},
                    },
                }
            }
        },
    }
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(doc), encoding="utf-8")
    _, mapping = _init(str(spec), tmp_path, "--source", "shop_api")
    source = yaml.safe_load((tmp_path / "crm-hub.yaml").read_text(encoding="utf-8"))["sources"][
        "shop_api"
    ]
    assert source["kind"] == "rest" and source["url"] == "https://erp.example.com/api/v1"
    assert source["streams"]["customers"]["options"] == {
        "path": "/customers",
        "records_path": "data",
    }
    assert source["streams"]["customers"]["cursor"] == ["updated_at"]
    fields = yaml.safe_load(mapping.read_text(encoding="utf-8"))["streams"]["customers"]["fields"]
    assert fields["customer_id"] == {"from": "id", "transforms": ["to_str"]}
    assert fields["updated_at"] == {"from": "updated_at", "transforms": ["datetime"]}
