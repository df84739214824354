"""The starter config that ``crm-hub init`` writes (``init --from`` reuses its head)."""

#: The comments, store and defaults every written config starts with.
STARTER_HEAD = """\
# crm-hub configuration. Secrets never go in this file: a URL that needs a password is
# read from the environment variable named by url_env. Relative paths are relative to
# this file. Check it with: crm-hub check
store:
  # the hub's own database; $CRM_HUB_DATABASE_URL overrides it
  url: sqlite:///crm-hub.db

defaults:
  batch_size: 50000          # rows per batch (memory stays bounded by this)
  schedule: "@hourly"        # used by the Airflow DAGs
  quarantine_threshold: 0.5  # a batch with more bad rows than this fails the run
"""

#: The example source of a plain ``crm-hub init``.
STARTER_SOURCES = """\
sources:
  erp:
    kind: sql                # sql, or any installed connector kind
    url_env: ERP_URL         # e.g. export ERP_URL=postgresql+psycopg://user:pw@host/erp
    mapping: mappings/erp.yaml
    schedule: "*/15 * * * *"
    streams:
      customers:
        table: customers
        primary_key: [id]
        cursor: [updated_at]   # read incrementally after the last loaded value
      orders:
        table: orders
        primary_key: [id]
        cursor: [updated_at]
"""

STARTER_CONFIG = STARTER_HEAD + "\n" + STARTER_SOURCES
