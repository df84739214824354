"""Stable golden ids: which cluster of source records keeps which golden id.

Matching says which records belong together; it knows nothing of golden ids. This module
turns each run's clusters into golden ids so that an id never changes for a customer:

- a cluster whose records were linked to one golden customer keeps its id;
- a cluster that now spans several golden customers keeps the oldest one's id, and the
  others are recorded as merged into it;
- when a golden customer's records split into several clusters, the part holding its
  oldest link keeps the id, the other parts get ids of their own (or join others);
- a cluster of records never linked before gets a new id.

Everything here is pure: plain dicts in, plain dicts out.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

#: A source record: (source, customer_id).
Record = tuple[str, str]
PREFIX = "G"
WIDTH = 8
_ID = re.compile(rf"^{PREFIX}(\d+)$")


@dataclass(frozen=True)
class Link:
    """A record's current golden customer and since when it has been linked to it."""

    golden_id: str
    linked_at: datetime


@dataclass
class Assignment:
    """The golden id of every record after a run, and what changed."""

    golden_of: dict[Record, str]
    #: golden ids first used by this run
    created: list[str] = field(default_factory=list)
    #: golden id -> the golden id it was merged into
    merged: dict[str, str] = field(default_factory=dict)
    #: records whose golden id is not the one they had (new records included)
    moved: set[Record] = field(default_factory=set)


class IdSequence:
    """Hands out golden ids after the highest one in use (``G00000001``, ...)."""

    def __init__(self, used: Iterable[str]) -> None:
        numbers = [int(m.group(1)) for m in map(_ID.match, used) if m]
        self._next = max(numbers, default=0) + 1

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        value = f"{PREFIX}{self._next:0{WIDTH}d}"
        self._next += 1
        return value


def assign(
    clusters: Mapping[Record, Hashable],
    links: Mapping[Record, Link],
    created_at: Mapping[str, datetime],
    ids: Iterator[str],
) -> Assignment:
    """Golden ids for ``clusters`` (record -> cluster label, labels are opaque).

    ``links`` are the records' golden ids before this run (records absent from
    ``clusters`` are left out of the decision); ``created_at`` says how old each golden
    customer is (the older one survives a merge; ties: the smaller id); ``ids`` hands out
    new ids.
    """
    members: dict[Hashable, list[Record]] = {}
    for record, label in clusters.items():
        members.setdefault(label, []).append(record)
    # each previous golden id is claimed by the cluster holding its oldest link
    oldest: dict[str, tuple[datetime, Record]] = {}
    for record in clusters:
        link = links.get(record)
        if link is None:
            continue
        mark = (link.linked_at, record)
        if link.golden_id not in oldest or mark < oldest[link.golden_id]:
            oldest[link.golden_id] = mark
    claims: dict[Hashable, list[str]] = {}
    for golden_id, (_, record) in oldest.items():
        claims.setdefault(clusters[record], []).append(golden_id)

    result = Assignment(golden_of={})
    for label in sorted(members, key=lambda lb: min(members[lb])):
        claimed = claims.get(label)
        if claimed:
            keep, *others = sorted(claimed, key=lambda g: (_age(created_at, g), g))
            for other in others:
                result.merged[other] = keep
        else:
            keep = next(ids)
            result.created.append(keep)
        for record in members[label]:
            result.golden_of[record] = keep
            link = links.get(record)
            if link is None or link.golden_id != keep:
                result.moved.add(record)
    return result


def _age(created_at: Mapping[str, datetime], golden_id: str) -> datetime:
    return created_at.get(golden_id) or datetime.max.replace(tzinfo=UTC)
