"""ODBC connection strings from the hub's URL form, with streaming defaults per driver.

A source names its database with a URL like Airflow's ODBC connections do, so that it can
live in an environment variable or an Airflow connection (``AIRFLOW_CONN_<ID>``):

- DSN-less: ``odbc://user:pw@host:3306/erp?driver=MariaDB Unicode``
  -> ``DRIVER={MariaDB Unicode};SERVER=host;PORT=3306;DATABASE=erp;UID=user;PWD=pw``
- a DSN from odbc.ini: ``odbc://user:pw@/?dsn=erp`` -> ``DSN=erp;UID=user;PWD=pw``
- a whole string: ``odbc:///?odbc_connect=<url-encoded connection string>``

Other query parameters and ``options.connection`` (non-secret keywords from the config
file) are added as they are; ``options.driver`` / ``options.dsn`` in the config override the
URL's. Drivers that would otherwise load a whole result into memory get a keyword that
makes them stream (psqlODBC: a server-side cursor; MariaDB: no result cache), unless the
source sets that keyword itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from schemas.errors import ConfigError

#: Keywords added for a driver whose name contains the key (lower case), unless given.
STREAMING_DEFAULTS: dict[str, dict[str, str]] = {
    # psqlODBC reads the whole result into memory unless it declares a cursor and fetches
    # from it; booleans come back as '1'/'0' text unless told otherwise
    "postgresql": {"UseDeclareFetch": "1", "Fetch": "10000", "BoolsAsChar": "0"},
    # MariaDB Connector/ODBC caches forward-only results whole unless NO_CACHE is set
    "mariadb": {"NO_CACHE": "1"},
    "mysql": {"NO_CACHE": "1"},
}
URL_KEYWORDS = {"driver", "dsn", "odbc_connect"}


def quote(value: str) -> str:
    """A value as ODBC needs it: braced when it holds ``;``, braces or edge blanks."""
    if any(ch in value for ch in ";{}") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def connection_string(url: str, options: Mapping[str, Any] | None = None) -> str:
    """The ODBC connection string for a source's URL and options (see the module doc)."""
    options = options or {}
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("not an odbc:// URL (see docs/connectors.md, ODBC)") from None
    if parsed.drivername != "odbc":
        raise ConfigError(
            f"kind odbc needs an odbc:// URL, not {parsed.drivername}:// "
            "(e.g. odbc://user@host:3306/db?driver=MariaDB+Unicode)"
        )
    query = {k: v if isinstance(v, str) else v[-1] for k, v in parsed.query.items()}
    pairs: list[tuple[str, str]] = []
    raw = query.get("odbc_connect")
    dsn = options.get("dsn") or query.get("dsn")
    driver = options.get("driver") or query.get("driver")
    if dsn:
        pairs.append(("DSN", str(dsn)))
    elif driver:
        pairs.append(("DRIVER", "{" + str(driver).strip("{}") + "}"))
    elif not raw:
        raise ConfigError(
            "an ODBC source needs a driver (options.driver or ?driver=...) or a DSN "
            "(options.dsn or ?dsn=...)"
        )
    for key, value in (
        ("SERVER", parsed.host),
        ("PORT", parsed.port),
        ("DATABASE", parsed.database),
        ("UID", parsed.username),
        ("PWD", parsed.password),
    ):
        if value not in (None, ""):
            pairs.append((key, str(value)))
    pairs += [(k, str(v)) for k, v in query.items() if k not in URL_KEYWORDS]
    pairs += [(str(k), str(v)) for k, v in (options.get("connection") or {}).items()]
    text = ";".join(f"{k}={v if k == 'DRIVER' else quote(v)}" for k, v in pairs)
    if raw:
        text = f"{raw.rstrip(';')};{text}" if text else raw
        found = re.search(r"DRIVER\s*=\s*\{?([^;}]+)", raw, re.IGNORECASE)
        driver = driver or (found.group(1) if found else "")
    return add_defaults(text, str(driver or ""))


def add_defaults(text: str, driver: str) -> str:
    """``text`` with the driver's streaming keywords added where the string lacks them."""
    present = {part.split("=", 1)[0].strip().upper() for part in text.split(";") if "=" in part}
    for marker, defaults in STREAMING_DEFAULTS.items():
        if marker in driver.lower():
            extra = [f"{k}={v}" for k, v in defaults.items() if k.upper() not in present]
            return ";".join([text.rstrip(";"), *extra]) if extra else text
    return text
