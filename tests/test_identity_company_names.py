"""One company in two scripts or two word orders, one person with the surname first or
last (``pytest -k "company_name or cross_script"``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from crm_core.identity import prepare
from crm_core.identity.company_names import CompanyName, company_name
from crm_core.identity.names import name_keys
from tests.test_cli import crm_hub
from tests.test_identity_cli import clusters_of, write

SAME = [
    ("Hangzhou Mingda Machinery Co., Ltd.", "杭州明达机械有限公司"),
    ("恒通贸易（天津）有限公司", "天津恒通贸易有限公司"),
    ("天津市恒通贸易有限责任公司", "天津恒通贸易有限公司"),
    ("温州瑞安纺织", "溫州瑞安紡織有限公司"),
    ("Hengtong Trading (Tianjin) Co., Ltd.", "天津恒通贸易有限公司"),
    ("浙江省温州市瑞安纺织有限公司", "Wenzhou Ruian Textile Co., Ltd."),
]
DIFFERENT_CITY = [
    ("天津恒通贸易有限公司", "北京恒通贸易有限公司"),
    ("Hangzhou Mingda Machinery Co., Ltd.", "宁波明达机械有限公司"),
    ("恒通贸易（上海）有限公司", "恒通贸易（天津）有限公司"),
]


@pytest.mark.parametrize(("left", "right"), SAME)
def test_company_name_cross_script_same_place_brand_industry(left: str, right: str) -> None:
    a, b = company_name(left), company_name(right)
    assert (a.place, a.brand, a.industry) == (b.place, b.brand, b.industry)
    assert a.brand is not None and a.place is not None


def test_company_name_parts() -> None:
    assert company_name("Hangzhou Mingda Machinery Co., Ltd.") == CompanyName(
        "hangzhou", "mingda", "machinery", "limited"
    )
    assert company_name("恒通贸易（天津）有限公司") == CompanyName(
        "tianjin", "hengtong", "trading", "limited"
    )
    assert company_name("温州瑞安纺织").form is None  # no legal form: still the same parts
    assert company_name("深圳华为电子科技股份有限公司") == CompanyName(
        "shenzhen", "huawei", "electronics+technology", "joint stock"
    )
    assert company_name("Acme Corp.") == CompanyName(None, "acme", None, "corporation")


def test_company_name_legal_form_is_kept_apart_from_the_name() -> None:
    a, b = company_name("天津恒通贸易有限公司"), company_name("天津恒通贸易股份有限公司")
    assert (a.form, b.form) == ("limited", "joint stock")
    assert (a.place, a.brand, a.industry) == (b.place, b.brand, b.industry)


@pytest.mark.parametrize(("left", "right"), DIFFERENT_CITY)
def test_company_name_same_brand_in_another_city_differs(left: str, right: str) -> None:
    a, b = company_name(left), company_name(right)
    assert a.brand == b.brand and a.place != b.place


def test_cross_script_person_names_share_keys() -> None:
    keys = [name_keys(n) for n in ("周 建华", "ZHOU Jianhua", "周建华", "Jianhua Zhou")]
    assert {k.latin for k in keys} == {"jianhua zhou"}
    assert keys[0].key == keys[2].key == "周建华"


def test_cross_script_persons_get_no_company_parts() -> None:
    records = pl.DataFrame({"customer_id": ["1", "2"], "name": ["周建华", "杭州明达机械有限公司"]})
    features = prepare(records)
    assert features["company_brand"].to_list() == [None, "mingda"]


def test_company_name_cross_script_resolve_links_and_keeps_hard_negatives_apart(
    tmp_path: Path,
) -> None:
    write(
        tmp_path / "crm.csv",
        [
            {"id": "c1", "name": "Hangzhou Mingda Machinery Co., Ltd.", "phone": ""},
            {"id": "c2", "name": "恒通贸易（天津）有限公司", "phone": ""},
            {"id": "c3", "name": "温州瑞安纺织", "phone": ""},
            {"id": "c4", "name": "北京恒通贸易有限公司", "phone": "010-8765 4321"},
        ],
    )
    write(
        tmp_path / "erp.csv",
        [
            {"id": "e1", "name": "杭州明达机械有限公司", "phone": ""},
            {"id": "e2", "name": "天津市恒通贸易有限责任公司", "phone": ""},
            {"id": "e3", "name": "溫州瑞安紡織有限公司", "phone": ""},
            {"id": "e4", "name": "上海恒通贸易有限公司", "phone": "021-5555 0101"},
            {"id": "e5", "name": "宁波明达机械有限公司", "phone": ""},
        ],
    )
    out = crm_hub(
        "resolve", "crm.csv", "erp.csv", "--id-column", "id", "--output", "out.csv",
        "--country", "CN", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    c = clusters_of(tmp_path / "out.csv")
    for i in "123":
        assert c[("crm", f"c{i}")] == c[("erp", f"e{i}")], i
    assert len({c[("crm", "c2")], c[("crm", "c4")], c[("erp", "e4")]}) == 3
    assert c[("erp", "e5")] != c[("crm", "c1")]
