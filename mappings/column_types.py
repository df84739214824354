"""Which source column types a mapping may load into which model fields.

A source column has a coarse kind: ``char``, ``text``, ``int``, ``decimal``, ``float``,
``date``, ``datetime``, ``time`` or ``bool``, told from its type's name (:func:`kind_of_name`;
an empty kind is unknown and never a problem). A field's transforms change the kind (``trim``
gives text, ``decimal`` a decimal, ``cyyddd`` a date); what comes out of the last one must
suit the model field. Text into a number or a date with no transform that converts it is
refused here rather than row by row at the first sync: a decimal comma, a blank-padded
code or a local date format would fail every row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from mappings.spec import FieldMap, StreamMap
from schemas.entities import ENTITIES
from schemas.yamlfile import Problem

#: A source column's coarse type: ``char`` is fixed width (blank padded).
ColumnKind = Literal["char", "text", "int", "decimal", "float", "date", "datetime", "time", "bool"]
NUMBERS = frozenset({"int", "decimal", "float", "bool"})
TIMES = frozenset({"date", "datetime"})
#: What each transform gives, whatever it is given.
GIVES: dict[str, str] = {
    **dict.fromkeys(("trim", "rtrim", "ltrim", "upper", "lower", "nfkc", "to_str"), "text"),
    "code": "text",
    "crosswalk": "text",
    "int": "int",
    "decimal": "decimal",
    "implied_decimals": "decimal",
    "yyyymmdd": "date",
    "cyyddd": "date",
    "date": "date",
    "yyyymmdd_hhmmss": "datetime",
    "cyyddd_hhmmss": "datetime",
    "datetime": "datetime",
    "bool": "bool",
}
#: Transforms that read a number (or its digits as text): wrong on a date or a time.
READS_NUMBERS = frozenset(
    {"int", "decimal", "implied_decimals", "yyyymmdd", "cyyddd", "yyyymmdd_hhmmss", "cyyddd_hhmmss"}
)
#: The column kinds each field kind takes (after the field's transforms); others need one of
#: the transforms named for the field kind.
TAKES: dict[str, frozenset[str]] = {
    "int": NUMBERS,
    "decimal": NUMBERS,
    "date": TIMES,
    "datetime": TIMES,
}
CONVERTERS: dict[str, str] = {
    "int": "int",
    "decimal": "decimal or implied_decimals",
    "date": "date (with a format), yyyymmdd or cyyddd",
    "datetime": "datetime (with a format), yyyymmdd_hhmmss or cyyddd_hhmmss",
}


def kind_of_name(type_name: str, scale: int | None = None, length: int | None = None) -> ColumnKind:
    """The coarse kind of a declared type name: a SQL type (``CHAR(10)``, ``NUMERIC(9, 2)``),
    a polars type (``String``, ``Datetime(...)``) or a Python one (``str``, ``Decimal``)."""
    name = type_name.upper()
    if re.search(r"TIMESTAMP|TIMESTMP|DATETIME", name):
        return "datetime"
    if name.startswith("DATE"):
        return "date"
    if name.startswith("TIME"):
        return "time"
    if re.search(r"BOOL|^BIT$", name):
        return "bool"
    if re.search(r"INT|SERIAL", name):
        return "int"
    if re.search(r"DEC|NUM|MONEY", name):
        return "int" if scale == 0 else "decimal"
    if re.search(r"FLOAT|REAL|DOUBLE", name):
        return "float"
    if re.search(r"^(N|W)?CHAR|^GRAPHIC|^CHARACTER$|^BPCHAR", name) and "VAR" not in name:
        return "char"
    return "text"


def _described(kind: str) -> str:
    return {"char": "a CHAR", "int": "an int", "time": "a time"}.get(kind, f"a {kind}")


def field_type_problem(fmap: FieldMap, field_kind: str, kinds: Mapping[str, str]) -> str | None:
    """Why the columns a field reads do not suit its kind (None when they do or when a
    column's kind is not known): a transform reading numbers from a date, or what comes out
    of the transforms not being what the field takes."""
    if not fmap.inputs or any(not kinds.get(c) for c in fmap.inputs):
        return None
    given = kinds[fmap.inputs[0]]
    for step, ref in enumerate(fmap.transforms):
        name = ref if isinstance(ref, str) else next(iter(ref), "")
        columns = fmap.inputs if step == 0 else []
        dated = [c for c in columns if kinds[c] in TIMES | {"time"}]
        if name in READS_NUMBERS and dated:
            return (
                f"transform {name} reads numbers, but column {dated[0]!r} is "
                f"{_described(kinds[dated[0]])} column"
            )
        given = GIVES.get(name, "")
        if not given:
            return None  # a transform these rules do not know: nothing to say
    takes = TAKES.get(field_kind)
    if takes is None or given in takes:
        return None
    column = fmap.inputs[0]
    what = (
        f"column {column!r} is {_described(given)} column"
        if not fmap.transforms
        else f"its transforms give {_described(given)} value"
    )
    return (
        f"{what}; a {field_kind} field needs a transform that converts it: {CONVERTERS[field_kind]}"
    )


def type_problems(stream: str, smap: StreamMap, kinds: Mapping[str, str]) -> list[Problem]:
    """Every field of a mapping stream whose columns' kinds do not suit the field, at the
    field's ``from`` in the mapping file."""
    entity = ENTITIES.get(smap.entity)
    if entity is None:
        return []
    problems: list[Problem] = []
    for name, fmap in smap.fields.items():
        spec = entity.fields.get(name)
        reason = field_type_problem(fmap, spec.kind, kinds) if spec is not None else None
        if reason:
            problems.append((["streams", stream, "fields", name, "from"], reason))
    return problems
