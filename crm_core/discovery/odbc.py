"""Reading the catalogue of an ``odbc://`` source through the ODBC catalogue functions
(``SQLTables``, ``SQLColumns``, ``SQLPrimaryKeys``, ``SQLStatistics``: pyodbc's cursor
methods), so any database with an ODBC driver can be discovered."""

from __future__ import annotations

from typing import Any

from connectors.odbc import connection_string
from crm_core.discovery.catalogue import Column, Table, kind_of_name
from schemas.errors import ConfigError

LOGIN_TIMEOUT = 15


def read_odbc(url: str, schema: str | None = None) -> list[Table]:
    """The tables an ODBC connection shows (in ``schema`` when given)."""
    try:
        import pyodbc
    except ImportError as exc:
        raise ConfigError(
            f"reading an ODBC catalogue needs pyodbc and unixODBC ({exc}); install them with: "
            "pip install 'crm-hub[odbc]' and apt-get install unixodbc <driver package>"
        ) from None
    text = connection_string(url)
    try:
        conn = pyodbc.connect(text, timeout=LOGIN_TIMEOUT)
    except pyodbc.Error as exc:
        raise ConfigError(f"cannot connect over ODBC: {exc.args[-1]}") from None
    try:
        cur = conn.cursor()
        names = [
            (r.table_schem, r.table_name)
            for r in cur.tables(schema=schema, tableType="TABLE").fetchall()
        ]
        return [_table(cur, table_schema, name) for table_schema, name in names]
    except pyodbc.Error as exc:
        raise ConfigError(f"cannot read the ODBC catalogue: {exc.args[-1]}") from None
    finally:
        conn.close()


def _table(cur: Any, schema: str | None, name: str) -> Table:
    columns = [
        Column(
            name=r.column_name,
            kind=kind_of_name(r.type_name, r.decimal_digits, r.column_size),
            type_name=r.type_name,
            nullable=bool(r.nullable),
            scale=r.decimal_digits,
            length=r.column_size,
        )
        for r in cur.columns(table=name, schema=schema).fetchall()
    ]
    keyed = sorted((r.key_seq, r.column_name) for r in cur.primaryKeys(name, schema=schema))
    unique: dict[str, list[tuple[int, str]]] = {}
    for r in cur.statistics(name, schema=schema, unique=True).fetchall():
        if r.index_name and r.column_name:
            unique.setdefault(r.index_name, []).append((r.ordinal_position, r.column_name))
    return Table(
        name=name,
        columns=columns,
        schema=schema,
        primary_key=[c for _, c in keyed],
        unique_keys=[[c for _, c in sorted(cols)] for cols in unique.values()],
    )
