"""The DB2 connector (ibm_db through SQLAlchemy's ibm_db_sa): see ``connectors.db2.connector``."""

from connectors.db2.connector import Db2Connector, fetch_first

__all__ = ["Db2Connector", "fetch_first"]
