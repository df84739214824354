"""The extract benchmark's Sling peer: skipped with a reason where its binary is missing,
and its figures (medians of paired rounds) computed from the rounds it ran."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import extract, slingpeer
from bench.measure import Measurement


def _m(name: str, rows: int, seconds: float) -> Measurement:
    return Measurement(name, rows, seconds, 100.0, {"sling": "1.4.11"})


def test_missing_environment_or_wheel_says_why(tmp_path: Path) -> None:
    version, why = slingpeer.locate(tmp_path / "bin" / "python")
    assert version is None
    assert "missing" in why
    # this interpreter is the product's, where the wheel never is
    version, why = slingpeer.locate(Path(sys.executable))
    assert version is None
    assert "sling-linux-amd64" in why and "make bench-env" in why


def test_no_sling_rounds_gives_null_figures() -> None:
    figures = extract.sling_figures(extract.Rounds([_m("hub", 1000, 1.0)]))
    assert figures["sling_rows_per_s"] is None
    assert figures["sling_incremental_seconds"] is None
    assert figures["hub_vs_sling"] is None
    assert figures["incremental_vs_sling"] is None


def test_ratios_are_medians_of_the_paired_rounds() -> None:
    rounds = extract.Rounds(
        fulls=[_m("hub", 1000, 1.0), _m("hub", 1000, 2.0), _m("hub", 1000, 1.0)],
        incrementals=[_m("hub", 10, 0.2), _m("hub", 10, 0.3), _m("hub", 10, 0.1)],
        noops=[_m("hub", 0, 0.05)] * 3,
        sling_fulls=[_m("s", 1000, 2.0), _m("s", 1000, 2.0), _m("s", 1000, 4.0)],
        sling_incrementals=[_m("s", 10, 0.8), _m("s", 10, 0.6), _m("s", 10, 0.5)],
        sling_noops=[_m("s", 0, 0.3), _m("s", 0, 0.4), _m("s", 0, 0.2)],
    )
    figures = extract.sling_figures(rounds)
    # rows/s 1000, 500, 1000 against 500, 500, 250: paired ratios 2, 1, 4
    assert figures["hub_vs_sling_runs"] == [2.0, 1.0, 4.0]
    assert figures["hub_vs_sling"] == 2.0
    assert figures["sling_rows_per_s"] == 500
    # seconds 0.2/0.8, 0.3/0.6, 0.1/0.5
    assert figures["incremental_vs_sling_runs"] == [0.25, 0.5, 0.2]
    assert figures["incremental_vs_sling"] == 0.25
    assert figures["sling_incremental_seconds"] == 0.6
    assert figures["sling_noop_seconds"] == 0.3
    assert figures["sling_version"] == "1.4.11"
