"""A source's catalogue: its tables, their columns with a coarse type, and their keys.

Read from a SQLAlchemy URL (SQLAlchemy's inspector; Db2 through its own catalogue views,
``connectors.db2.catalogue``), from an ``odbc://`` URL (``discovery.odbc``), or from a REST
source's OpenAPI document (``discovery.openapi``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, inspect, types
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from mappings.column_types import ColumnKind, kind_of_name
from schemas.errors import ConfigError
from schemas.settings import redact_url

if TYPE_CHECKING:
    from connectors.db2.catalogue import CatalogueColumn

#: A column's type as discovery needs it: ``char`` is fixed width (blank padded).
Kind = ColumnKind
DB2_BACKENDS = {"db2", "ibm_db_sa", "db2as400"}


@dataclass(frozen=True)
class Column:
    """One column: its name, coarse type, declared type, scale and width."""

    name: str
    kind: Kind
    type_name: str
    nullable: bool = True
    scale: int | None = None
    length: int | None = None


@dataclass
class Table:
    """One table: its columns, primary key and unique keys (each a list of column names)."""

    name: str
    columns: list[Column]
    schema: str | None = None
    primary_key: list[str] = field(default_factory=list)
    unique_keys: list[list[str]] = field(default_factory=list)
    #: what a REST stream needs besides the table's name (its path, records_path)
    options: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        """A column by name."""
        return next(c for c in self.columns if c.name == name)


#: SQLAlchemy's generic types and their kinds, the first that matches wins (``Float`` is a
#: ``Numeric``; any other ``Numeric`` is ``int`` or ``decimal`` by its scale)
_KIND_OF_TYPE: tuple[tuple[type[types.TypeEngine[Any]], Kind], ...] = (
    (types.Boolean, "bool"),
    (types.DateTime, "datetime"),
    (types.Date, "date"),
    (types.Time, "time"),
    (types.Integer, "int"),
    (types.Float, "float"),
    (types.CHAR, "char"),
    (types.NCHAR, "char"),
)


def kind_of_type(sqltype: types.TypeEngine[object]) -> Kind:
    """The coarse kind of a type SQLAlchemy's inspector reflected."""
    for generic, kind in _KIND_OF_TYPE:
        if isinstance(sqltype, generic):
            return kind
    if isinstance(sqltype, types.Numeric):
        return "int" if sqltype.scale == 0 else "decimal"
    return kind_of_name(str(sqltype.__class__.__name__))


def read_sqlalchemy(url: str, schema: str | None = None) -> list[Table]:
    """The tables of a database reached by a SQLAlchemy URL (Db2: its catalogue views)."""
    try:
        backend = make_url(url).get_backend_name()
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(f"cannot open {redact_url(url)}: {exc}") from None
    except ImportError as exc:
        raise ConfigError(
            f"the driver for {redact_url(url)} is not installed ({exc.name or exc})"
        ) from None
    try:
        if backend in DB2_BACKENDS:
            return _read_db2(engine, schema)
        return _read_inspector(engine, schema)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ConfigError(f"cannot read the catalogue of {redact_url(url)}: {reason}") from None
    finally:
        engine.dispose()


def _read_inspector(engine: object, schema: str | None) -> list[Table]:
    insp = inspect(engine)
    tables = []
    for name in insp.get_table_names(schema=schema):
        columns = [
            Column(
                name=c["name"],
                kind=kind_of_type(c["type"]),
                type_name=str(c["type"]),
                nullable=bool(c.get("nullable", True)),
                scale=getattr(c["type"], "scale", None),
                length=getattr(c["type"], "length", None),
            )
            for c in insp.get_columns(name, schema=schema)
        ]
        pk = insp.get_pk_constraint(name, schema=schema).get("constrained_columns") or []
        uniques = [u["column_names"] for u in insp.get_unique_constraints(name, schema=schema)]
        uniques += [
            i["column_names"]
            for i in insp.get_indexes(name, schema=schema)
            if i.get("unique") and all(i["column_names"])
        ]
        tables.append(Table(name, columns, schema, list(pk), [list(u) for u in uniques]))
    return tables


def _read_db2(engine: object, schema: str | None) -> list[Table]:
    from connectors.db2.catalogue import family_of, read_columns

    with engine.connect() as conn:  # type: ignore[attr-defined]
        family = family_of(getattr(conn.dialect, "dbms_name", None))
        rows = read_columns(conn, family, schema)
    return db2_tables(rows)


def db2_tables(rows: list[CatalogueColumn]) -> list[Table]:
    """Tables from the rows of a Db2 catalogue query (``connectors.db2.catalogue``)."""
    tables: dict[str, Table] = {}
    for r in sorted(rows, key=lambda r: (r.table_name, r.key_seq or 0, r.ordinal)):
        table = tables.setdefault(r.table_name, Table(r.table_name, [], r.table_schema))
        if r.key_seq:
            table.primary_key.append(r.column_name)
    for r in rows:  # the columns in their catalogue order
        kind = kind_of_name(r.type_name, r.scale, r.length)
        column = Column(r.column_name, kind, r.type_name, r.nullable, r.scale, r.length)
        tables[r.table_name].columns.append(column)
    return list(tables.values())
