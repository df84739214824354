"""The ODBC connector (pyodbc over unixODBC): see ``connectors.odbc.connector``."""

from connectors.odbc.connector import OdbcConnector
from connectors.odbc.connstr import connection_string

__all__ = ["OdbcConnector", "connection_string"]
