"""Scheduling: what runs when, for Airflow and for the command line alike (no Airflow here).

- :mod:`.jobs`: the entry points a scheduler calls (one stream's sync, reconcile, push-back);
- :mod:`.dag_plan`: the DAGs, pools and schedules derived from the config as plain data;
- :mod:`.local_airflow`: a one-machine Airflow for ``crm-hub airflow``.
"""
