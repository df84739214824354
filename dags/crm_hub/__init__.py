"""crm-hub as an Airflow provider, so that ``airflow db migrate`` also registers the DAGs.

Airflow finds providers through the ``apache_airflow_provider`` entry point and calls
:func:`get_provider_info`; its ``db-managers`` key names the DB manager that ``airflow db
migrate`` runs after Airflow's own migration (see :mod:`crm_hub.serialize_on_migrate`).
The package is named after the distribution because Airflow imports ``crm_hub`` (the
distribution name with ``_``) to look for a provider's example DAGs. This module imports
nothing from Airflow, so that discovering providers stays cheap. Not a DAG file: the dags
folder's ``.airflowignore`` keeps the DAG processor out of it.
"""

from __future__ import annotations

from typing import Any

DB_MANAGER = "crm_hub.serialize_on_migrate.SerializeDagsOnMigrate"


def get_provider_info() -> dict[str, Any]:
    """What Airflow's ProvidersManager reads (checked against its provider_info.schema.json)."""
    return {
        "package-name": "crm-hub",  # must be the distribution's name, as pip knows it
        "name": "crm-hub",
        "description": "Registers crm-hub's DAGs in the metadata database on `airflow db migrate`.",
        "db-managers": [DB_MANAGER],
    }
