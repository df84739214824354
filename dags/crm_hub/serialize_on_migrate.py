"""``airflow db migrate`` also parses the DAGs folder and stores its DAGs, as reserialize does.

On Airflow 3, ``airflow dags list`` and ``airflow dags list-import-errors`` read the metadata
database, which only the DAG processor (or ``airflow dags reserialize``) fills: right after
``airflow db migrate`` both find nothing. Of the hooks Airflow 3.3 offers, only an external DB
manager runs inside ``airflow db migrate``: ``RunDBManager`` takes the ``db-managers`` of every
installed provider (``ProvidersManager``, no configuration needed) and calls their ``initdb``
on a new database, ``upgradedb`` on an existing one, after Airflow's own tables are migrated.
The others do not fit: ``db migrate`` loads no plugins and fires no listeners; a provider's
``bundles`` key is descriptive and its ``cli`` only adds commands; cluster policies
(``airflow.policy``) only mutate DAGs and tasks; ``[database] external_db_managers`` and
``airflow_local_settings`` need configuration that a fresh ``AIRFLOW_HOME`` does not have.

So this manager keeps no tables of its own: its migration step runs what ``airflow dags
reserialize`` runs (``DagBundlesManager.sync_bundles_to_db``, ``BundleDagBag``,
``sync_bag_to_db``), in-process, for the bundle of the configured dags folder only (not the
example DAGs, not remote bundles). A DAG file that fails to import is recorded as an import
error, as the DAG processor would, and logged in one warning line, not a traceback (``airflow
dags list-import-errors`` shows that); nothing here ever fails the migration.
Rerunning it stores nothing new while the DAGs are unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.utils.db_manager import BaseDBManager
from sqlalchemy import MetaData

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
PARSE_LOGGERS = ("airflow.dag_processing.importers",)
HINT = "the DAG processor will parse them when it starts, or run `airflow dags reserialize`"


def _last_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


@contextmanager
def _parse_errors_unlogged() -> Iterator[None]:
    """Keep the importer's tracebacks out of the migration's output (the warning says it)."""
    loggers = [logging.getLogger(name) for name in PARSE_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def serialize_dags_folder(session: Session) -> dict[str, int]:
    """Parse the configured dags folder and store its DAGs and import errors, like reserialize.

    Returns the number of DAGs stored and of files that failed to import.
    """
    from airflow import settings
    from airflow.dag_processing.bundles.local import LocalDagBundle
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    folder = Path(settings.DAGS_FOLDER).resolve()
    manager = DagBundlesManager()
    manager.sync_bundles_to_db(session=session)
    session.commit()
    counts = {"dags": 0, "import_errors": 0}
    for bundle in manager.get_all_dag_bundles():
        if not isinstance(bundle, LocalDagBundle) or Path(bundle.path).resolve() != folder:
            continue
        bundle.initialize()
        with _parse_errors_unlogged():
            bag = BundleDagBag(bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        # a local bundle has no versions: its get_current_version() is always None
        sync_bag_to_db(bag, bundle.name, bundle_version=None, version_data=None, session=session)
        session.commit()
        counts["dags"] += len(bag.dags)
        counts["import_errors"] += len(bag.import_errors)
        for path, error in bag.import_errors.items():
            log.warning(
                "crm-hub: %s in %s failed to import: %s (see `airflow dags list-import-errors`)",
                path,
                bundle.path,
                _last_line(error),
            )
    return counts


class SerializeDagsOnMigrate(BaseDBManager):
    """A DB manager with no tables whose migration step stores the dags folder's DAGs."""

    metadata = MetaData()
    migration_dir = str(Path(__file__).with_name("migrations"))
    version_table_name = "crm_hub_alembic_version"  # never created: nothing to version
    supports_table_dropping = False

    def initdb(self, use_migration_files: bool = False) -> None:
        """A new metadata database: store the DAGs."""
        self._serialize()

    def upgradedb(
        self,
        to_revision: str | None = None,
        from_revision: str | None = None,
        show_sql_only: bool = False,
        use_migration_files: bool = False,
    ) -> None:
        """An existing metadata database: store the DAGs again (unchanged ones stay as they are)."""
        if not show_sql_only:
            self._serialize()

    def check_migration(self) -> bool:
        """Nothing of ours to migrate."""
        return True

    def downgrade(
        self, to_revision: str, from_revision: str | None = None, show_sql_only: bool = False
    ) -> None:
        """Nothing of ours to downgrade."""

    def _serialize(self) -> None:
        try:
            counts = serialize_dags_folder(self.session)
        except Exception as exc:  # noqa: BLE001 - nothing here may fail `airflow db migrate`
            self.session.rollback()
            log.warning(
                "crm-hub: the DAGs were not stored at migrate (%s: %s); %s",
                type(exc).__name__,
                _last_line(str(exc)),
                HINT,
            )
            return
        log.info(
            "crm-hub: stored %d DAG(s) of the dags folder; %d file(s) failed to import",
            counts["dags"],
            counts["import_errors"],
        )
