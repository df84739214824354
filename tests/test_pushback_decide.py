"""Push-back's decision on a target record's current values, in the target's own terms
(the legacy ERP's padded CHAR columns, upper-case e-mails): already there, safe to write,
or a conflict, whether the record reads like the hub's values at a glance or only once
mapped."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files

import pytest

from crm_core.pushback.decide import Attempt
from mappings import compile_mapping, load_mapping
from schemas.pushback import FieldOwnership

STREAM = compile_mapping(load_mapping(str(files("mappings").joinpath("legacy_erp.yaml")))).stream(
    "customers"
)
RULE = FieldOwnership(owner="crm", targets=["legacy_erp"], on_conflict="manual")


def attempt(**overrides: object) -> Attempt:
    values: dict[str, object] = {
        "stream": STREAM,
        "fields": ["email"],
        "new": {"email": "new@example.com"},
        "expected": {"email": "li@example.com"},
        "rules": {"email": RULE},
        "created_at": datetime(2026, 11, 23, tzinfo=UTC),
        "create": False,
        "force": False,
    }
    values.update(overrides)
    return Attempt(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "decision"),
    [
        ({"CEMAIL": "new@example.com".ljust(60)}, "done"),  # the hub's value, padded
        ({"CEMAIL": "NEW@Example.com "}, "done"),  # the same once mapped (lower-cased)
        ({"CEMAIL": "li@example.com".ljust(60)}, "write"),  # what the hub read
        ({"CEMAIL": "LI@EXAMPLE.COM"}, "write"),  # the same once mapped
        ({"CEMAIL": "other@example.com"}, "conflict"),  # the back office changed it
    ],
)
def test_decision_on_the_targets_current_value(current: dict[str, str], decision: str) -> None:
    taken = attempt()
    assert taken.decide(current) == decision
    if decision == "conflict":
        assert taken.diverged == {"email": "other@example.com"} and taken.policy_wins is None


def test_conflict_settled_by_newest_wins_from_the_records_stamp() -> None:
    rule = FieldOwnership(owner="crm", targets=["legacy_erp"], on_conflict="newest_wins")
    current = {"CEMAIL": "other@example.com", "CCHGD": 20261124, "CCHGT": 90000}
    later = attempt(rules={"email": rule})  # the back office's edit is newer
    assert later.decide(current) == "conflict" and later.policy_wins == "target"
    earlier = attempt(
        rules={"email": rule}, created_at=datetime(2026, 11, 25, tzinfo=UTC)
    )  # the CRM's change is newer
    assert earlier.decide(current) == "write" and earlier.policy_wins == "crm"


def test_a_missing_record_is_a_conflict_unless_the_change_creates_it() -> None:
    assert attempt().decide(None) == "conflict"
    assert attempt(create=True).decide(None) == "write"
