"""Rows by many keys in few queries: one ``= ANY(array)`` on PostgreSQL (one parameter,
whatever the number of keys), ``IN`` lists of :data:`IN_LIST` keys elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, any_, bindparam
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
        # text of no length: a cast to varchar(n) would cut a longer key down to size
        kind = String() if isinstance(column.type, String) else column.type
        return [column == any_(bindparam(None, wanted, type_=ARRAY(kind)))]
    return [column.in_(wanted[i : i + IN_LIST]) for i in range(0, len(wanted), IN_LIST)]
