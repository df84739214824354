"""Stable golden ids: kept across runs, the older id survives a merge, the part holding
the oldest link keeps the id when a customer splits; stewards' decisions replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_core.golden.constraints import MERGE, UNMERGE, Action, replay
from crm_core.golden.ids import IdSequence, Link, assign

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


def test_new_clusters_get_new_ids_after_the_highest_in_use() -> None:
    ids = IdSequence(["G00000007", "G00000002", "not-mine"])
    result = assign({("a", "1"): "x", ("a", "2"): "x", ("b", "9"): "y"}, {}, {}, ids)
    assert result.golden_of == {
        ("a", "1"): "G00000008",
        ("a", "2"): "G00000008",
        ("b", "9"): "G00000009",
    }
    assert result.created == ["G00000008", "G00000009"] and not result.merged


def test_ids_stay_when_the_same_clusters_come_back_under_other_labels() -> None:
    links = {
        ("a", "1"): Link("G1", at(0)),
        ("a", "2"): Link("G1", at(0)),
        ("b", "9"): Link("G2", at(1)),
    }
    again = {("a", "1"): "b:9", ("a", "2"): "b:9", ("b", "9"): "a:1", ("c", "5"): "a:1"}
    result = assign(again, links, {"G1": at(0), "G2": at(1)}, IdSequence(["G1", "G2"]))
    assert result.golden_of == {
        ("a", "1"): "G1",
        ("a", "2"): "G1",
        ("b", "9"): "G2",
        ("c", "5"): "G2",
    }
    assert result.moved == {("c", "5")} and not result.created and not result.merged


def test_a_cluster_spanning_two_golden_customers_keeps_the_older_id() -> None:
    links = {("a", "1"): Link("G00000002", at(5)), ("b", "1"): Link("G00000003", at(1))}
    created = {"G00000002": at(5), "G00000003": at(1)}  # G3 is the older customer
    bridged = {("a", "1"): "x", ("b", "1"): "x", ("c", "1"): "x"}
    result = assign(bridged, links, created, IdSequence(created))
    assert set(result.golden_of.values()) == {"G00000003"}
    assert result.merged == {"G00000002": "G00000003"}
    assert result.moved == {("a", "1"), ("c", "1")}


def test_a_split_leaves_the_id_with_the_part_holding_the_oldest_link() -> None:
    links = {
        ("a", "1"): Link("G1", at(3)),
        ("a", "2"): Link("G1", at(0)),  # the oldest link
        ("a", "3"): Link("G1", at(3)),
    }
    split = {("a", "1"): "p", ("a", "3"): "p", ("a", "2"): "q"}
    result = assign(split, links, {"G1": at(0)}, IdSequence(["G1"]))
    assert result.golden_of[("a", "2")] == "G1"
    assert result.golden_of[("a", "1")] == result.golden_of[("a", "3")] == "G00000002"
    assert result.created == ["G00000002"]


def test_stewards_merges_and_unmerges_are_replayed_in_order() -> None:
    clusters = {("a", "1"): "x", ("a", "2"): "x", ("b", "1"): "y", ("c", "1"): "z"}
    merge = Action(
        1, MERGE, "G1", {"records_into": [["a", "s", "1"]], "records": [["b", "s", "1"]]}
    )
    unmerge = Action(2, UNMERGE, "G1", {"record": ["a", "s", "2"], "apart_from": [["a", "s", "1"]]})
    moved = replay(clusters, [merge, unmerge])
    assert clusters[("a", "1")] == clusters[("b", "1")] != clusters[("a", "2")]
    assert clusters[("a", "2")] == "unmerged:2" and clusters[("c", "1")] == "z"
    assert moved[("a", "2")] == "manual:unmerge"
    assert "manual:merge" in {moved.get(("a", "1")), moved.get(("b", "1"))}
    # once apart, nothing to do: replaying is idempotent
    before = dict(clusters)
    replay(clusters, [merge, unmerge])
    assert clusters == before
