"""Reading a Db2 catalogue: the columns of a schema's tables with their primary keys.

Each Db2 family keeps its catalogue elsewhere, so there is one query per family:

- Db2 for i: ``QSYS2.SYSCOLUMNS``, the primary key from ``QSYS2.SYSCST``/``SYSKEYCST``
- Db2 for z/OS: ``SYSIBM.SYSCOLUMNS`` (``KEYSEQ`` is the column's place in the key, 0 if none)
- Db2 for LUW: ``SYSCAT.COLUMNS`` (``KEYSEQ`` likewise, null if none)

Every query gives the same columns (``table_schema, table_name, column_name, ordinal,
type_name, length, scale, nullable, key_seq``), ordered by table and column position.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from sqlalchemy import Connection, Integer, String, TextualSelect, text

Family = Literal["i", "zos", "luw"]

COLUMNS_I = """
SELECT c.TABLE_SCHEMA AS table_schema, c.TABLE_NAME AS table_name,
       c.COLUMN_NAME AS column_name, c.ORDINAL_POSITION AS ordinal,
       c.DATA_TYPE AS type_name, c.LENGTH AS length, c.NUMERIC_SCALE AS scale,
       c.IS_NULLABLE AS nullable, k.ORDINAL_POSITION AS key_seq
FROM QSYS2.SYSCOLUMNS c
JOIN QSYS2.SYSTABLES t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
LEFT JOIN QSYS2.SYSCST p
  ON p.TABLE_SCHEMA = c.TABLE_SCHEMA AND p.TABLE_NAME = c.TABLE_NAME
 AND p.CONSTRAINT_TYPE = 'PRIMARY KEY'
LEFT JOIN QSYS2.SYSKEYCST k
  ON k.CONSTRAINT_SCHEMA = p.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = p.CONSTRAINT_NAME
 AND k.COLUMN_NAME = c.COLUMN_NAME
WHERE c.TABLE_SCHEMA = :schema AND t.TABLE_TYPE IN ('T', 'P')
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
"""

COLUMNS_ZOS = """
SELECT c.TBCREATOR AS table_schema, c.TBNAME AS table_name, c.NAME AS column_name,
       c.COLNO AS ordinal, c.COLTYPE AS type_name, c.LENGTH AS length, c.SCALE AS scale,
       c.NULLS AS nullable, c.KEYSEQ AS key_seq
FROM SYSIBM.SYSCOLUMNS c
JOIN SYSIBM.SYSTABLES t ON t.CREATOR = c.TBCREATOR AND t.NAME = c.TBNAME
WHERE c.TBCREATOR = :schema AND t.TYPE = 'T'
ORDER BY c.TBNAME, c.COLNO
"""

COLUMNS_LUW = """
SELECT c.TABSCHEMA AS table_schema, c.TABNAME AS table_name, c.COLNAME AS column_name,
       c.COLNO AS ordinal, c.TYPENAME AS type_name, c.LENGTH AS length, c.SCALE AS scale,
       c.NULLS AS nullable, c.KEYSEQ AS key_seq
FROM SYSCAT.COLUMNS c
JOIN SYSCAT.TABLES t ON t.TABSCHEMA = c.TABSCHEMA AND t.TABNAME = c.TABNAME
WHERE c.TABSCHEMA = :schema AND t.TYPE = 'T'
ORDER BY c.TABNAME, c.COLNO
"""

QUERIES: dict[Family, str] = {"i": COLUMNS_I, "zos": COLUMNS_ZOS, "luw": COLUMNS_LUW}
#: The schema a statement without one reads (every Db2 family has the special register).
CURRENT_SCHEMA = text("SELECT CURRENT SCHEMA FROM SYSIBM.SYSDUMMY1")


class CatalogueColumn(NamedTuple):
    """One column as a Db2 catalogue describes it."""

    table_schema: str
    table_name: str
    column_name: str
    ordinal: int
    type_name: str
    length: int | None
    scale: int | None
    nullable: bool
    key_seq: int | None


def columns_query(family: Family) -> TextualSelect:
    """The catalogue query of a Db2 family, with the schema as the bound ``:schema``."""
    return text(QUERIES[family]).columns(
        table_schema=String,
        table_name=String,
        column_name=String,
        ordinal=Integer,
        type_name=String,
        length=Integer,
        scale=Integer,
        nullable=String,
        key_seq=Integer,
    )


def family_of(dbms_name: str | None) -> Family:
    """The family from the server's DBMS name (``AS`` for i, ``DB2/LINUXX8664`` and the
    like for LUW, ``DB2``/``DSN`` for z/OS)."""
    name = (dbms_name or "").strip().upper()
    if name.startswith("AS") or "400" in name:
        return "i"
    if name.startswith("DB2/") or name.startswith("SQL"):
        return "luw"
    return "zos"


def read_columns(conn: Connection, family: Family, schema: str | None) -> list[CatalogueColumn]:
    """The columns of the schema's tables (the connection's current schema by default)."""
    if schema is None:
        schema = str(conn.execute(CURRENT_SCHEMA).scalar_one()).strip()
    rows = conn.execute(columns_query(family), {"schema": schema.upper()})
    return [
        CatalogueColumn(
            table_schema=str(r.table_schema).strip(),
            table_name=str(r.table_name).strip(),
            column_name=str(r.column_name).strip(),
            ordinal=int(r.ordinal),
            type_name=str(r.type_name).strip().upper(),
            length=r.length,
            scale=r.scale,
            nullable=str(r.nullable).strip().upper() == "Y",
            key_seq=r.key_seq or None,
        )
        for r in rows
    ]
