"""crm-hub keeps no tables in Airflow's metadata database, so it has no Alembic migrations.

Airflow reads the ``env.py`` of every DB manager's ``migration_dir`` before it migrates a new
database (``RunDBManager._validate``); this file exists for that check and is never run.
Were it run, it would name its own version table: ``version_table="crm_hub_alembic_version"``.
"""
