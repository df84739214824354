"""The REST connector (``kind: rest``): JSON APIs over requests, declared in YAML.

See :mod:`connectors.rest.options` for what a source and a stream may say, and
``docs/rest-connector.md`` for how incremental reads, retries and errors work.
"""

from __future__ import annotations

from connectors.rest.connector import RestConnector

__all__ = ["RestConnector"]
