"""The unseen Chinese test set of ``python -m bench matching``: reproducible from its seed,
its truth covering every record, its hard negatives present, and the benchmark's own
pairwise scorer counting pairs right."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from bench import unseen_cjk
from bench.pairwise import pairwise


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> unseen_cjk.UnseenSet:
    return unseen_cjk.write(tmp_path_factory.mktemp("unseen"), 600)


def test_same_seed_writes_the_same_files(made: unseen_cjk.UnseenSet, tmp_path: Path) -> None:
    again = unseen_cjk.write(tmp_path / "again", 600)
    for system, path in made.exports.items():
        assert again.exports[system].read_bytes() == path.read_bytes(), system
    for first, second in zip(made.resolve_files, again.resolve_files, strict=True):
        assert first.read_bytes() == second.read_bytes()
    assert again.truth.read_bytes() == made.truth.read_bytes()
    other = unseen_cjk.write(tmp_path / "other", 600, seed=unseen_cjk.SEED + 1)
    assert other.exports["erp"].read_bytes() != made.exports["erp"].read_bytes()


def test_truth_covers_every_record_once(made: unseen_cjk.UnseenSet) -> None:
    truth = _read(made.truth)
    keys = Counter((t["system"], t["record_id"]) for t in truth)
    assert max(keys.values()) == 1
    exported = set()
    for system, path in made.exports.items():
        id_column = unseen_cjk.systems.ROLES[system]["record_id"]
        exported |= {(system, r[id_column]) for r in _read(path)}
    renamed = {
        (path.stem, r[unseen_cjk.COMMON["record_id"]])
        for path in made.resolve_files
        for r in _read(path)
    }
    assert exported == set(keys) == renamed
    assert len(keys) == made.records
    per_entity = Counter(t["entity_id"] for t in truth)
    assert set(per_entity) == {e.entity_id for e in made.entities}
    assert min(per_entity.values()) >= 2  # every customer is in at least two systems


def test_record_ids_do_not_reveal_the_entity(made: unseen_cjk.UnseenSet) -> None:
    truth = _read(made.truth)
    for t in truth:
        assert t["entity_id"] not in t["record_id"]


def test_group_companies_share_a_brand_in_different_cities(made: unseen_cjk.UnseenSet) -> None:
    by_brand: dict[tuple[object, int], list[unseen_cjk.Entity]] = defaultdict(list)
    for e in made.entities:
        if e.kind == "company":
            by_brand[(e.brand, e.industry)].append(e)
    hard = [
        group
        for group in by_brand.values()
        if len({e.city.city for e in group}) >= 2 and len({e.entity_id for e in group}) >= 2
    ]
    assert len(hard) >= 5
    names = {r["客户名称"] for r in _read(made.exports["erp"])}
    brand = "".join(c for c, _ in hard[0][0].brand)
    assert sum(brand in n for n in names) >= 1
    shared_phones = Counter(e.switchboard for e in made.entities if e.switchboard)
    assert max(shared_phones.values()) >= 2  # a group's switchboard behind several companies


def test_persons_and_companies_both_appear(made: unseen_cjk.UnseenSet) -> None:
    kinds = Counter(e.kind for e in made.entities)
    assert kinds["company"] > kinds["person"] > 0


def test_pairwise_scores_count_pairs() -> None:
    truth = [("a", 1), ("b", 1), ("c", 1), ("d", 2), ("e", 3)]
    # a-b together (right), c alone (missed a-c, b-c), d-e together (wrong)
    clusters = [("a", "x"), ("b", "x"), ("c", "y"), ("d", "z"), ("e", "z")]
    scores = pairwise(clusters, truth)
    assert scores["true_pairs"] == 3
    assert scores["predicted_pairs"] == 2
    assert scores["correct_pairs"] == 1
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(0.4)
    assert pairwise(truth, truth)["f1"] == 1.0
    missing = pairwise([("a", "x"), ("b", "x")], truth)  # c, d, e left out: singletons
    assert missing["recall"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="not in the truth"):
        pairwise([*clusters, ("zz", "x")], truth)
