"""Push-back's decision on a target record's current values: already there (``done``),
safe to write (``write``) or a conflict (``conflict``), and who wins a conflict.

A delivery's decision is taken inside the target's write transaction (see
:class:`schemas.source.WritableSource`), on the record's raw values in the target's own
terms (padded CHAR columns, upper-case e-mails):

- no record: a change that creates it writes it; any other change is a conflict
  (:func:`schemas.source.missing_record`);
- the record holds the change's values already: ``done`` (a retry finds its own write);
- it holds what the hub last read (or last wrote, until the pull reads it back): ``write``;
- anything else was changed in the back office since: a conflict, which the field's
  ``on_conflict`` policy (:data:`POLICIES`) settles for one side, or leaves to a person.

A conflict resolved by a person for the CRM side (``force``) is written regardless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from crm_core.pushback.values import same
from mappings.compile import CompiledStream
from mappings.inverse import read_values, to_source
from schemas.errors import MappingError
from schemas.pushback import CRM, ConflictPolicy, FieldOwnership
from schemas.source import Decision, missing_record

#: The side a conflict policy lets win: the CRM's change or the target's value.
Side = Literal["crm", "target"]
#: A policy: the field's rule, when the CRM-side change was made, when the target's record
#: last changed (None: the record carries no change stamp) -> the winning side, or None
#: (a person decides).
Policy = Callable[[FieldOwnership, datetime, datetime | None], Side | None]


def owner_wins(rule: FieldOwnership, crm_at: datetime, target_at: datetime | None) -> Side:
    """``owner_wins``: the field's owner (its system of record) keeps its value: a field the
    CRM owns is written over the back office's edit, a field a back-office system owns keeps
    the owner's value. Pick it where the owner is always right and a clash needs no person:
    a credit limit finance books, an e-mail address the CRM side maintains."""
    return "crm" if rule.owner == CRM else "target"


def newest_wins(rule: FieldOwnership, crm_at: datetime, target_at: datetime | None) -> Side | None:
    """``newest_wins``: the later edit wins, the CRM change's time against the record's change
    stamp read with its values (``CCHGD``/``CCHGT`` in the legacy ERP, ``updated_at`` over
    REST); a record without a stamp leaves it to a person. Pick it for fields both sides
    edit freely where the latest word is the right one (contact details), and only where the
    target's stamp is trustworthy and the clocks agree."""
    if target_at is None:
        return None
    return "crm" if crm_at > target_at else "target"


def manual(rule: FieldOwnership, crm_at: datetime, target_at: datetime | None) -> None:
    """``manual`` (the default): nothing is overwritten; the conflict stays open until a
    person resolves it (``crm-hub conflicts resolve ID --keep crm|target``). Pick it where a
    wrong overwrite costs more than the wait: phone numbers, anything a person checks."""
    return None


#: Each ``on_conflict`` policy by name.
POLICIES: Mapping[ConflictPolicy, Policy] = {
    "owner_wins": owner_wins,
    "newest_wins": newest_wins,
    "manual": manual,
}


def winner(
    rule: FieldOwnership | None, crm_at: datetime, target_at: datetime | None
) -> Side | None:
    """Who wins a conflict on one field by its rule's policy (None: a person decides)."""
    return POLICIES[rule.on_conflict](rule, crm_at, target_at) if rule else None


@dataclass
class Attempt:
    """One delivery's decision, taken inside the target's transaction: :meth:`decide` is
    the ``decide`` a connector's ``write`` calls. After it, ``diverged`` holds the fields the
    target changed since the hub read them, ``policy_wins`` the side their policies chose."""

    stream: CompiledStream
    fields: list[str]
    new: dict[str, Any]
    expected: dict[str, Any]
    rules: dict[str, FieldOwnership | None]
    created_at: datetime
    create: bool
    force: bool
    diverged: dict[str, Any] = field(default_factory=dict)
    target_at: datetime | None = None
    policy_wins: Side | None = None

    def decide(self, current: Mapping[str, Any] | None) -> Decision:
        """The decision on the record's current raw values (None: no such record)."""
        if current is None:
            return missing_record(self.create)
        quick = self._at_a_glance(current)
        if quick is not None:
            return quick
        now = read_values(self.stream, current, self._readable(current))
        self.target_at = now.get("updated_at")
        if all(same(now.get(f), self.new[f]) for f in self.fields):
            return "done"
        if self.force:
            return "write"
        if self.create:
            self.diverged = {
                f: now.get(f) for f in self.fields if not same(now.get(f), self.new[f])
            }
            return "conflict"
        self.diverged = {
            f: now.get(f)
            for f in self.fields
            if not same(now.get(f), self.expected.get(f)) and not same(now.get(f), self.new[f])
        }
        if not self.diverged:
            return "write"
        winners = {self._winner(f) for f in self.diverged}
        if winners == {"crm"}:
            self.policy_wins = "crm"
            return "write"
        self.policy_wins = "target" if winners == {"target"} else None
        return "conflict"

    def _at_a_glance(self, current: Any) -> Decision | None:
        """The usual cases without mapping the record: the target holds exactly what the
        hub would write (``done``), or exactly what it would have written for the value it
        expects there (``write``). Anything else is mapped and compared field by field."""
        wanted = _as_source(self.stream, {f: self.new[f] for f in self.fields})
        if wanted is not None and _raw_equal(current, wanted):
            return "done"
        if self.create or self.force or any(f not in self.expected for f in self.fields):
            return None
        expected = _as_source(self.stream, {f: self.expected[f] for f in self.fields})
        if expected is not None and _raw_equal(current, expected):
            return "write"
        return None

    def _readable(self, current: Any) -> list[str]:
        stamp = self.stream.spec.fields.get("updated_at")
        extra = ["updated_at"] if stamp and all(c in current for c in stamp.inputs) else []
        return [*self.fields, *extra]

    def _winner(self, name: str) -> Side | None:
        return winner(self.rules[name], self.created_at, self.target_at)


def _as_source(stream: CompiledStream, values: dict[str, Any]) -> dict[str, Any] | None:
    """Model values as the target's raw values (None where they cannot be turned back)."""
    try:
        return to_source(stream, values)
    except MappingError:
        return None


def _raw_equal(current: Any, wanted: dict[str, Any]) -> bool:
    """Whether the target's raw values are these (CHAR padding and blank-for-none aside)."""
    for column, value in wanted.items():
        if column not in current:
            return False
        have = current[column]
        if isinstance(have, str) or isinstance(value, str):
            if str(have or "").rstrip() != str(value or "").rstrip():
                return False
        elif not same(have, value):
            return False
    return True
