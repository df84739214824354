"""Survivorship: each rule picks the value it says, with the record and run that supplied
it; pins win; the ``reconcile:`` section of the config validates its rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from crm_core.golden.survivorship import PIN_SOURCE, Pin, golden_values, survive
from schemas.errors import ConfigError
from schemas.reconcile import FieldRule, ReconcileConfig, Survivorship
from schemas.settings import load_config

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def records(*rows: dict[str, Any]) -> pl.DataFrame:
    """Source records of golden customer G1 (unless a row says otherwise)."""
    base = {"golden_id": "G1", "stream": "customers", "run_id": 1, "changed_at": T0}
    return pl.DataFrame(
        [{**base, **row} for row in rows],
        schema_overrides={"changed_at": pl.Datetime("us", "UTC"), "run_id": pl.Int64},
    )


def chosen(frame: pl.DataFrame, rules: Survivorship, field: str, **kw: Any) -> dict[str, Any]:
    lineage = survive(frame, rules, **kw)
    [row] = lineage.filter(pl.col("field") == field).to_dicts()
    return row


def only(field: str, rule: str, **kw: Any) -> Survivorship:
    return Survivorship(fields={field: FieldRule(rule=rule, **kw)})  # type: ignore[dict-item]


def test_source_priority_takes_the_first_listed_source_with_a_value() -> None:
    frame = records(
        {"source": "crm", "customer_id": "1", "email": "new@crm.example", "run_id": 7},
        {"source": "erp", "customer_id": "A", "email": " ", "changed_at": T0 - timedelta(1)},
        {"source": "finance", "customer_id": "F", "email": "ar@finance.example", "run_id": 3},
    )
    row = chosen(frame, only("email", "source_priority", sources=["erp", "finance"]), "email")
    # erp's blank value never wins; finance is next; crm is not listed, so it comes last
    assert (row["value"], row["source"], row["source_key"], row["run_id"]) == (
        "ar@finance.example",
        "finance",
        "F",
        3,
    )
    assert row["rule"] == "source_priority"
    # sources not listed at all are still better than no value
    frame = frame.filter(pl.col("source") != "finance")
    assert chosen(frame, only("email", "source_priority", sources=["erp"]), "email")["source"] == (
        "crm"
    )


def test_most_recent_takes_the_newest_change() -> None:
    frame = records(
        {"source": "a", "customer_id": "1", "phone": "+86 21 1111", "changed_at": T0},
        {
            "source": "b",
            "customer_id": "2",
            "phone": "+86 21 2222",
            "changed_at": T0 + timedelta(1),
        },
        {"source": "c", "customer_id": "3", "phone": None, "changed_at": T0 + timedelta(2)},
    )
    row = chosen(frame, only("phone", "most_recent"), "phone")
    assert (row["value"], row["source"]) == ("+86 21 2222", "b")


def test_most_complete_takes_the_record_with_most_fields_filled() -> None:
    frame = records(
        {"source": "a", "customer_id": "1", "street": "Main St 1", "changed_at": T0 + timedelta(9)},
        {
            "source": "b",
            "customer_id": "2",
            "street": "Main Street 1",
            "city": "Leeds",
            "postcode": "LS1 4DY",
        },
    )
    rules = Survivorship(default=FieldRule(rule="most_complete"))
    lineage = survive(frame, rules)
    values = golden_values(lineage)["G1"]
    # the address comes whole from one record, though the other changed later
    assert (values["street"], values["city"], values["postcode"]) == (
        "Main Street 1",
        "Leeds",
        "LS1 4DY",
    )
    assert set(lineage.filter(pl.col("value").is_not_null())["source"]) == {"b"}


def test_most_frequent_counts_spellings_as_one_and_keeps_the_newest() -> None:
    frame = records(
        {"source": "a", "customer_id": "1", "name": "ACME  Trading", "changed_at": T0},
        {
            "source": "b",
            "customer_id": "2",
            "name": "acme trading",
            "changed_at": T0 + timedelta(1),
        },
        {
            "source": "c",
            "customer_id": "3",
            "name": "Acme Trading Co",
            "changed_at": T0 + timedelta(5),
        },
        {
            "source": "d",
            "customer_id": "4",
            "name": "ＡＣＭＥ Trading",
            "changed_at": T0 - timedelta(1),
        },
    )
    row = chosen(frame, only("name", "most_frequent"), "name")
    assert (row["value"], row["source"]) == ("acme trading", "b")


def test_never_empty_over_value_keeps_the_value_a_source_cleared() -> None:
    rules = only("email", "never_empty_over_value")
    before = records({"source": "erp", "customer_id": "1", "email": "ada@example.com", "run_id": 4})
    first = survive(before, rules)
    cleared = records({"source": "erp", "customer_id": "1", "email": "", "run_id": 9})
    kept = chosen(cleared, rules, "email", previous=first)
    assert (kept["value"], kept["run_id"]) == ("ada@example.com", 4)
    # most_recent, given the same history, lets the field become empty
    assert chosen(cleared, only("email", "most_recent"), "email", previous=first)["value"] is None
    # a new value does replace it
    changed = records({"source": "erp", "customer_id": "1", "email": "ada@new.example"})
    assert chosen(changed, rules, "email", previous=first)["value"] == "ada@new.example"


def test_a_pin_wins_over_every_rule() -> None:
    frame = records({"source": "erp", "customer_id": "1", "name": "Old Name Ltd"})
    pins = {("G1", "name"): Pin("New Name Ltd", 12, "ada")}
    row = chosen(frame, Survivorship(), "name", pins=pins)
    assert (row["value"], row["rule"], row["source"], row["source_key"]) == (
        "New Name Ltd",
        "pin",
        PIN_SOURCE,
        "12",
    )


def test_every_field_gets_lineage_and_countries_stay_codes() -> None:
    frame = records(
        {"source": "a", "customer_id": "1", "name": "X", "country": "China"},
        {"source": "b", "customer_id": "2", "name": "X", "country": "cn", "golden_id": "G2"},
    )
    lineage = survive(frame, Survivorship())
    assert lineage.height == 2 * 10
    values = golden_values(lineage)
    assert values["G1"]["country"] is None and values["G2"]["country"] == "CN"


def test_the_reconcile_section_validates_and_may_live_in_its_own_file(tmp_path: Path) -> None:
    rules = Survivorship.model_validate(
        {"source_priority": ["erp"], "fields": {"name": "source_priority", "email": "most_recent"}}
    )
    assert rules.rule_for("name") == FieldRule(rule="source_priority", sources=["erp"])
    assert rules.rule_for("phone").rule == "never_empty_over_value"  # built in
    with pytest.raises(ValueError, match="source_priority rule without sources for name"):
        Survivorship.model_validate({"fields": {"name": "source_priority"}})
    with pytest.raises(ValueError, match="most_often"):
        Survivorship.model_validate({"fields": {"name": "most_often"}})

    (tmp_path / "rules.yaml").write_text("threshold: 0.9\n", encoding="utf-8")
    (tmp_path / "reconcile.yaml").write_text(
        "match_rules: rules.yaml\nsurvivorship:\n  default: most_recent\n", encoding="utf-8"
    )
    (tmp_path / "crm-hub.yaml").write_text("reconcile: reconcile.yaml\n", encoding="utf-8")
    config = load_config(tmp_path / "crm-hub.yaml")
    assert config.reconcile.match_rules == tmp_path / "rules.yaml"
    assert config.reconcile.survivorship.rule_for("name").rule == "most_recent"

    (tmp_path / "reconcile.yaml").write_text(
        "survivorship:\n  fields:\n    nmae: most_recent\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"reconcile.yaml:3: survivorship.fields.nmae"):
        load_config(tmp_path / "crm-hub.yaml")
    assert ReconcileConfig().probabilistic
