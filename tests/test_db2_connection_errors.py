"""A real failure of IBM's bundled CLI driver, as the hub reports it.

Connecting to a closed port on this machine makes the driver fail for real with SQL30081N
(TCP/IP error 111); the hub turns that into one line naming host and port, never the
password, and marks it retriable. (The CLI driver waits 5 s and tries once more before it
gives up, hence ``slow``.)
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

pytest.importorskip("ibm_db")

from connectors.db2 import Db2Connector
from schemas.errors import RetriableError
from schemas.settings import SourceConfig

PASSWORD = "Db2-S3cret;pw"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_db2_closed_port_is_one_line_naming_host_and_port_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = closed_port()
    monkeypatch.setenv("ERP_DB2_URL", f"db2+ibm_db://db2inst1:Db2-S3cret%3Bpw@127.0.0.1:{port}/ERP")
    cfg = SourceConfig(
        kind="db2",
        url_env="ERP_DB2_URL",
        mapping=Path("m.yaml"),
        options={"isolation": "UR"},
        streams={"customers": {"table": "RCM", "primary_key": ["CCUST"]}},
    )
    with pytest.raises(RetriableError) as info, Db2Connector("legacy_erp", cfg) as source:
        next(source.read("customers", None, 100))
    message = str(info.value)
    assert message == (
        f"source 'legacy_erp' (db2+ibm_db://db2inst1:***@127.0.0.1:{port}/ERP): reading stream "
        f"'customers': cannot reach the Db2 server at 127.0.0.1:{port}: connection refused "
        "(is Db2 listening on that port?) (SQL30081N)"
    )
    assert PASSWORD not in message and "S3cret" not in message
