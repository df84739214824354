"""Stewards' merges and unmerges, replayed on every automatic run's clusters.

Matching proposes clusters; a steward's decisions win. In the order they were made (undone
ones skipped), a manual merge puts its records back into one cluster, and a manual unmerge
takes its record out of any cluster that holds a record it was unmerged from: so a manual
unmerge is never merged again automatically, whatever new records arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from crm_core.golden.ids import Record

MERGE, UNMERGE, PIN, UNPIN = "merge", "unmerge", "pin", "unpin"
ACTIONS = (MERGE, UNMERGE, PIN, UNPIN)


@dataclass(frozen=True)
class Action:
    """One steward's action that is in force (not undone)."""

    id: int
    action: str
    golden_id: str
    args: Mapping[str, Any]


def ref_record(ref: Iterable[str]) -> Record:
    """(source, key) of a stored reference ``[source, stream, key]``."""
    source, _stream, key = ref
    return (source, key)


def replay(clusters: MutableMapping[Record, str], actions: Iterable[Action]) -> dict[Record, str]:
    """Apply ``actions`` (oldest first) to ``clusters`` (record -> label) in place; return
    the records they moved, each with the rule to record (``manual:merge`` ...)."""
    members: dict[str, set[Record]] = {}
    for record, label in clusters.items():
        members.setdefault(label, set()).add(record)
    moved: dict[Record, str] = {}
    for action in actions:
        if action.action == MERGE:
            records = [
                ref_record(r) for r in (*action.args["records_into"], *action.args["records"])
            ]
            labels = {clusters[r] for r in records if r in clusters}
            if len(labels) < 2:
                continue
            target = max(labels, key=lambda lb: (len(members[lb]), lb))
            for label in labels - {target}:
                for record in members.pop(label):
                    clusters[record] = target
                    members[target].add(record)
                    moved[record] = "manual:merge"
        elif action.action == UNMERGE:
            record = ref_record(action.args["record"])
            current = clusters.get(record)
            if current is None:
                continue
            apart = {ref_record(r) for r in action.args["apart_from"]}
            if any(other in members[current] for other in apart):
                members[current].discard(record)
                alone = f"unmerged:{action.id}"
                clusters[record] = alone
                members[alone] = {record}
                moved[record] = "manual:unmerge"
    return moved
