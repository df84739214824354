"""The sample REST ERP: a modern back office behind a JSON API, served on loopback.

- :func:`create_schema`, :func:`generate` and :func:`apply_changes` fill its SQLite file,
  with the same meaning as in :mod:`sample_erps.legacy_erp`;
- :func:`serve` runs its API in process (a context manager, on a free port), with optional
  bearer or OAuth2 client-credentials authentication and injectable faults; customers can
  be changed and created through it (PATCH, POST with ``Idempotency-Key``, see
  :mod:`.writes`);
- :func:`source_config` is the ``crm-hub.yaml`` source block that reads it with the REST
  connector and ``mappings/rest_erp.yaml``.
"""

from __future__ import annotations

from sample_erps.rest_erp.changes import apply_changes
from sample_erps.rest_erp.data import generate
from sample_erps.rest_erp.demo_config import source_config
from sample_erps.rest_erp.faults import Fault
from sample_erps.rest_erp.schema import create_schema
from sample_erps.rest_erp.server import Auth, RestErpServer, serve

__all__ = [
    "Auth",
    "Fault",
    "RestErpServer",
    "apply_changes",
    "create_schema",
    "generate",
    "serve",
    "source_config",
]
