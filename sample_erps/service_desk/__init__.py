"""The sample service desk: tickets on the legacy ERP's customers and their assets, and a
satisfaction survey after each solved ticket, behind a JSON API served on loopback.

- :func:`create_schema`, :func:`generate` and :func:`apply_changes` fill its SQLite file
  (it files tickets under the legacy ERP's account numbers and serial numbers, so it is
  generated from the legacy ERP's file);
- :func:`serve` runs its API in process; :func:`source_config` is the ``crm-hub.yaml``
  source block that reads it with the REST connector and ``mappings/service_desk.yaml``.
"""

from __future__ import annotations

from sample_erps.service_desk.data import apply_changes, create_schema, generate
from sample_erps.service_desk.server import ServiceDeskServer, serve, source_config

__all__ = [
    "ServiceDeskServer",
    "apply_changes",
    "create_schema",
    "generate",
    "serve",
    "source_config",
]
