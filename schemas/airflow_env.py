"""Airflow connections read from the environment, as Airflow itself defines them.

Airflow looks up a connection id ``erp_db2`` in the variable ``AIRFLOW_CONN_ERP_DB2``,
holding either a URI (``db2://user:pass@host:50000/BLUDB?k=v``) or JSON
(``{"conn_type": "db2", "host": ..., "login": ..., "password": ..., "extra": {...}}``).
Reading that variable needs no Airflow import, so the hub stays usable (and testable)
without Airflow, and a DAG can export a connection from a secrets backend into it.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy.engine import URL

from schemas.errors import ConfigError

#: Airflow connection types and the SQLAlchemy driver names the hub uses for them.
DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "db2": "db2+ibm_db",
    "ibm_db": "db2+ibm_db",
    "sqlite": "sqlite",
    "odbc": "odbc",
}


def variable_name(conn_id: str) -> str:
    """The environment variable Airflow reads connection ``conn_id`` from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def connection_url(conn_id: str, what: str) -> str:
    """The database URL of Airflow connection ``conn_id``, from its environment variable."""
    name = variable_name(conn_id)
    raw = os.environ.get(name, "").strip()
    if not raw:
        raise ConfigError(
            f"{what}: Airflow connection {conn_id!r} is not in the environment: set {name} "
            "(URI or JSON form, as Airflow reads it)"
        )
    try:
        parts = _from_json(raw) if raw.startswith("{") else _from_uri(raw)
        return _to_url(parts).render_as_string(hide_password=False)
    except (ValueError, TypeError) as exc:  # never echo the value: it holds the password
        problem = f"{what}: {name} is not an Airflow connection URI or JSON ({exc})"
        raise ConfigError(problem) from None


def _from_uri(raw: str) -> dict[str, Any]:
    split = urlsplit(raw)
    if not split.scheme:
        raise ValueError("no connection type")
    extra: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    return {
        "conn_type": split.scheme,
        "host": unquote(split.hostname or ""),
        "port": split.port,
        "login": unquote(split.username) if split.username else None,
        "password": unquote(split.password) if split.password else None,
        "schema": unquote(split.path[1:]) if split.path else "",
        "extra": extra,
    }


def _from_json(raw: str) -> dict[str, Any]:
    data = json.loads(raw)
    if not isinstance(data, dict) or "conn_type" not in data:
        raise ValueError("JSON without conn_type")
    extra = data.get("extra") or {}
    return {**data, "extra": json.loads(extra) if isinstance(extra, str) else extra}


def _to_url(parts: dict[str, Any]) -> URL:
    conn_type = str(parts["conn_type"]).replace("-", "_")
    extra = {k: v if isinstance(v, str) else json.dumps(v) for k, v in parts["extra"].items()}
    return URL.create(
        DRIVERS.get(conn_type, conn_type),
        username=parts.get("login") or None,
        password=parts.get("password") or None,
        host=parts.get("host") or None,
        port=int(parts["port"]) if parts.get("port") else None,
        database=parts.get("schema") or None,
        query=extra,
    )
