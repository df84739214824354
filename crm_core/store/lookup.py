"""Rows by many keys in few queries: one ``= ANY(array)`` on PostgreSQL (one parameter,
whatever the number of keys), ``IN`` lists of :data:`IN_LIST` keys elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

#: Keys of one ``IN`` list (SQLite takes up to 32,766 parameters a statement).
IN_LIST = 5000


def among(conn: Connection, column: Any, keys: Iterable[Any]) -> list[ColumnElement[bool]]:
    """Conditions that together select the rows whose ``column`` is one of ``keys``: one
    query per condition (none for no key)."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    if conn.dialect.name == "postgresql":
        return [column == any_(bindparam(None, wanted, type_=ARRAY(column.type)))]
    return [column.in_(wanted[i : i + IN_LIST]) for i in range(0, len(wanted), IN_LIST)]
