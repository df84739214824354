"""The columns a mapping reads, held against those the source has now.

A mapped column the source lacks is either a typo (never seen by this source: the closest
column it has is suggested) or drift (the last run that read the stream saw it, and it is
gone). Where the columns' types are known, a field whose column cannot become its type
without a transform is a problem too (the rules: :mod:`mappings.column_types`). Each
problem reads ``file:line: key.path: reason``, the line that of the field's ``from`` in the
mapping file. ``crm-hub check`` reports them all before any sync; a sync whose batch lacks
a mapped column fails with the same lines.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path

from mappings.column_types import kind_of_name, type_problems
from mappings.spec import StreamMap
from schemas.source import StreamSpec
from schemas.yamlfile import Problem, located_all

#: How many of the source's columns a typo without a close match lists.
LISTED = 12

#: The last run of a stream that read rows: its id and the columns it saw.
LastRun = tuple[int, Sequence[str]]


def stream_label(spec: StreamSpec) -> str:
    """What a stream reads, for messages: its table (``schema.table``) or the stream."""
    table = spec.options.get("table")
    if table and not spec.options.get("query"):
        schema = spec.options.get("schema")
        return f"{schema}.{table}" if schema else str(table)
    return f"stream {spec.name!r}"


def closest(column: str, present: Sequence[str]) -> str | None:
    """The source column most like ``column`` (case aside), if any is close enough."""
    lowered = {c.lower(): c for c in present}
    best = difflib.get_close_matches(column.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[best[0]] if best else None


def missing_reason(column: str, present: Sequence[str], where: str, last: LastRun | None) -> str:
    """Why ``column`` is a problem: drift when the last run saw it, else a typo."""
    if last is not None and column in last[1]:
        return f"column {column!r} was there at the last run (run {last[0]}) and is gone"
    best = closest(column, present)
    if best is not None:
        return f"no column {column!r} in {where}; did you mean {best!r}?"
    shown = ", ".join(present[:LISTED]) + (", ..." if len(present) > LISTED else "")
    return f"no column {column!r} in {where} (it has: {shown or 'no columns'})"


def missing_problems(
    stream: str, smap: StreamMap, present: Sequence[str], where: str, last: LastRun | None
) -> list[Problem]:
    """One problem per field reading a column the source lacks, at the field's ``from``."""
    have = set(present)
    problems: list[Problem] = []
    for name, fmap in smap.fields.items():
        for i, column in enumerate(fmap.inputs):
            if column in have:
                continue
            at: list[int | str] = ["streams", stream, "fields", name, "from"]
            if isinstance(fmap.source, list):
                at.append(i)
            problems.append((at, missing_reason(column, list(present), where, last)))
    return problems


def column_problems(
    mapping_file: Path,
    stream: str,
    smap: StreamMap,
    columns: Mapping[str, str],
    where: str,
    last: LastRun | None = None,
    types: bool = True,
) -> list[str]:
    """Every problem of a mapping stream against the source's ``columns`` (name to the
    source's type name, "" when unknown) as ``file:line: key.path: reason``: missing
    columns, and with ``types`` the fields whose columns' types they cannot take."""
    found = missing_problems(stream, smap, list(columns), where, last)
    if types:
        kinds = {name: kind_of_name(t) if t else "" for name, t in columns.items()}
        found += type_problems(stream, smap, kinds)
    return located_all(mapping_file, found) if found else []
