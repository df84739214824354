"""Matching rules as data (YAML, validated), deterministic rules and pairwise scoring."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from crm_core.identity import MatchConfig, load_match_config, pairwise_scores, prepare
from crm_core.identity.config import DEFAULT_FILE, DeterministicRule
from crm_core.identity.rules import deterministic_pairs
from schemas.errors import ConfigError


def records(*rows: dict[str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"source": "erp", "customer_id": f"C{i}", **row} for i, row in enumerate(rows, 1)]
    )


def pairs(frame: pl.DataFrame, config: MatchConfig | None = None) -> set[tuple[str, str, str]]:
    config = config or MatchConfig()
    features = prepare(frame)
    found = deterministic_pairs(
        features, config.deterministic, max_key_frequency=config.max_key_frequency
    )
    ids = features.get_column("customer_id")
    return {(ids[a], ids[b], rule) for a, b, rule in found.iter_rows()}


def test_the_shipped_yaml_is_the_default() -> None:
    assert load_match_config(DEFAULT_FILE) == MatchConfig()
    assert load_match_config(None) == MatchConfig()


def test_a_rules_file_overrides_some_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("threshold: 0.99\ndeterministic:\n  - {name: same_vat, equal: [tax_id]}\n")
    config = load_match_config(path)
    assert config.threshold == 0.99
    assert [r.name for r in config.deterministic] == ["same_vat"]
    assert config.blocking == MatchConfig().blocking


def test_every_problem_of_a_rules_file_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "threshold: 1.5\n"
        "deterministic:\n"
        "  - name: by_shoe_size\n"
        "    equal: [shoe_size]\n"
        "blocking:\n"
        "  - [email, colour]\n"
        "speed: fast\n"
    )
    with pytest.raises(ConfigError) as err:
        load_match_config(path)
    text = str(err.value)
    assert "4 problem(s)" in text
    assert "rules.yaml:1: threshold" in text
    assert "rules.yaml:4: deterministic[0].equal[0]: Input should be 'source'" in text
    assert "rules.yaml:6: blocking[0][1]" in text
    assert "rules.yaml:7: speed" in text


def test_review_threshold_above_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="review_threshold"):
        MatchConfig(threshold=0.6, review_threshold=0.9)


def test_identifiers_link_records_across_spellings() -> None:
    found = pairs(
        records(
            {"name": "Müller GmbH", "tax_id": "DE 123.456.789", "country": "DE"},
            {"name": "MUELLER", "tax_id": "123456789", "country": "DE"},
            {"name": "华盛有限公司", "email": "Sales@HuaSheng.cn"},
            {"name": "華盛", "email": "sales@huasheng.cn"},
            {"name": "王伟", "phone": "138-1234-5678", "country": "CN"},
            {"name": "Wang Wei", "phone": "+86 138 1234 5678"},
            {"name": "Ada", "postcode": "b1 1aa", "street": "High St 1"},
            {"name": "ADA", "postcode": "B11AA", "street": "High Street 1"},
        )
    )
    assert found == {
        ("C1", "C2", "same_tax_id"),
        ("C3", "C4", "same_email"),
        ("C5", "C6", "same_phone"),
        ("C7", "C8", "same_name_postcode"),
    }


def test_a_conflicting_identifier_leaves_the_pair_to_the_model() -> None:
    found = pairs(
        records(
            {"name": "Anna Müller", "email": "anna.muller@mail.com", "phone": "+49 89 1234567"},
            {"name": "Anna Müller", "email": "anna.muller@mail.com", "phone": "+49 40 7654321"},
            {"name": "Anna Müller", "email": "anna.muller@mail.com"},
        )
    )
    # C1 and C2 differ on phone; C3 has none, so it agrees with both
    assert found == {("C1", "C3", "same_email"), ("C2", "C3", "same_email")}


def test_the_first_rule_that_links_a_pair_names_it() -> None:
    found = pairs(
        records(
            {"tax_id": "91310000MA1FL4XX3K", "email": "a@b.cn"},
            {"tax_id": "91310000MA1FL4XX3K", "email": "a@b.cn"},
        )
    )
    assert found == {("C1", "C2", "same_tax_id")}


def test_same_source_key_links_a_record_delivered_twice() -> None:
    frame = pl.DataFrame(
        {"source": ["erp", "erp", "crm"], "customer_id": ["7", "7", "7"], "name": ["A", "B", "C"]}
    )
    features = prepare(frame)
    found = deterministic_pairs(features, MatchConfig().deterministic, max_key_frequency=50)
    assert found.rows() == [(0, 1, "same_source_key")]


def test_values_shared_by_too_many_records_link_nobody() -> None:
    frame = records(*[{"name": f"Shop {i}", "email": "info@example.com"} for i in range(6)])
    config = MatchConfig(max_key_frequency=5)
    assert pairs(frame, config) == set()
    assert len(pairs(frame.head(5), config)) == 10


def test_no_records_make_no_features() -> None:
    features = prepare(pl.DataFrame(schema={"source": pl.String, "customer_id": pl.String}))
    assert features.is_empty() and "name_key" in features.columns


def test_empty_values_never_match() -> None:
    frame = records({"name": "  ", "tax_id": ""}, {"name": "😀", "tax_id": None})
    assert pairs(frame) == set()


def test_incremental_pairs_touch_a_new_record() -> None:
    features = prepare(records(*[{"phone": "+49 89 1234567"} for _ in range(3)]))
    rules = [DeterministicRule(name="same_phone", equal=["phone"])]
    found = deterministic_pairs(features, rules, max_key_frequency=50, new_from=2)
    assert found.select("rid_l", "rid_r").rows() == [(0, 2), (1, 2)]


def test_pairwise_scores_from_cluster_sizes() -> None:
    clusters = pl.DataFrame(
        {"customer_id": ["a", "b", "c", "d", "e"], "cluster_id": ["1", "1", "1", "2", "3"]}
    )
    truth = [("a", "T1"), ("b", "T1"), ("c", "T2"), ("d", "T2"), ("e", "T3"), ("f", "T3")]
    scores = pairwise_scores(clusters, truth)
    # predicted pairs ab ac bc; true pairs ab cd ef: one right, two wrong, two missed
    assert (scores.true_positives, scores.false_positives, scores.false_negatives) == (1, 2, 2)
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == pytest.approx(1 / 3)


def test_pairwise_scores_with_source_and_id_keys() -> None:
    clusters = pl.DataFrame(
        {"source": ["a", "b"], "customer_id": ["1", "1"], "cluster_id": ["x", "x"]}
    )
    truth = [(("a", "1"), "T"), (("b", "1"), "T")]
    assert pairwise_scores(clusters, truth, key=("source", "customer_id")).f1 == 1.0
