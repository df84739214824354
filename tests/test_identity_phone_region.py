"""Phones without a country: a default region, inference per record and per file, and the
national number as a second key (``pytest -k phone_region``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from crm_core.identity import MatchConfig, load_match_config, prepare
from crm_core.identity.phones import infer_region, phone_keys
from schemas.errors import ConfigError
from tests.test_cli import crm_hub
from tests.test_identity_cli import clusters_of, write

ONE_PHONE = ("+86 133 0340 7626", "133-0340-7626", "8613303407626", "0086 133 0340 7626")


@pytest.mark.parametrize("raw", ONE_PHONE)
def test_phone_region_cn_reads_every_spelling_as_one_number(raw: str) -> None:
    assert phone_keys(raw, "CN").phone == "+8613303407626"
    assert phone_keys(raw, "CN").national == "13303407626"


@pytest.mark.parametrize(
    ("phone", "name", "city", "expected"),
    [
        ("133-0340-7626", None, None, "CN"),  # 11 digits from 13-19: a Chinese mobile
        ("8613303407626", None, None, "CN"),  # 86 and a mobile: country code without +
        ("022-2345 6789", "天津恒通贸易有限公司", None, "CN"),  # Chinese script
        ("2345 6789", "恒通貿易(香港)有限公司", None, "HK"),  # traditional and Hong Kong
        ("02 2345 6789", "明達科技", "台北市", "TW"),
        ("0571 8888 6666", "Mingda Machinery", "Hangzhou", "CN"),  # a city in pinyin
        ("+1 312 555 0123", "周建华", None, None),  # has its own country code
        ("(312) 555-0123", "Acme Corp", "Chicago", None),  # nothing says
    ],
)
def test_phone_region_inferred_from_what_the_record_says(
    phone: str, name: str | None, city: str | None, expected: str | None
) -> None:
    assert infer_region(phone, name, None, city) == expected


def test_phone_region_without_country_column_gives_one_key_per_phone() -> None:
    records = pl.DataFrame(
        {
            "source": ["crm", "erp", "erp", "shop"],
            "customer_id": ["1", "2", "3", "4"],
            "name": ["杭州明达机械有限公司", "Mingda", "明达", "周建华"],
            "phone": [*ONE_PHONE[:3], "021-6234 5678"],
        }
    )
    features = prepare(records)
    assert features["phone"].to_list()[:3] == ["+8613303407626"] * 3
    assert features["phone"][3] == "+862162345678"  # Shanghai landline, by the name's script


def test_phone_region_of_a_file_is_its_majority_and_the_default_wins_over_it() -> None:
    records = pl.DataFrame(
        {
            "source": ["f"] * 4 + ["g"],
            "customer_id": ["1", "2", "3", "4", "5"],
            "name": ["Mingda", "Hengtong", "Ruian", "Acme", "Acme"],
            "phone": [
                "13303407626",
                "13812345678",
                "13912345678",
                "021 6234 5678",
                "(312) 555-0123",
            ],
        }
    )
    inferred = prepare(records)
    assert inferred["phone"][3] == "+862162345678"  # most of its file is CN
    assert inferred["phone"][4] == "3125550123"  # its file says nothing: digits only
    given = prepare(records, default_country="US")
    assert given["phone"][4] == "+13125550123"
    assert given["phone"][0] == "+13303407626"  # the user's word beats a guess


def test_phone_region_country_column_wins_and_national_number_is_a_second_key() -> None:
    records = pl.DataFrame(
        {
            "source": ["a", "b"],
            "customer_id": ["1", "2"],
            "name": ["Acme", "Acme"],
            "phone": ["0171 1234567", "+49 171 1234567"],
            "country": ["Deutschland", None],
        }
    )
    features = prepare(records, default_country="CN")
    assert features["phone"].to_list() == ["+491711234567"] * 2
    assert features["phone_national"].to_list() == ["1711234567"] * 2


def test_phone_region_default_country_is_checked() -> None:
    assert load_match_config(default_country="cn").default_country == "CN"
    with pytest.raises(ConfigError, match="'XX': not a region code"):
        load_match_config(default_country="XX")
    assert MatchConfig().default_country is None


def test_phone_region_resolve_cli_with_country(tmp_path: Path) -> None:
    write(
        tmp_path / "crm.csv",
        [
            {"id": "c1", "name": "Mingda Machinery", "phone": "+86 133 0340 7626"},
            {"id": "c2", "name": "Hengtong Trading", "phone": "022-2345 6789"},
        ],
    )
    write(
        tmp_path / "erp.csv",
        [
            {"id": "e1", "name": "Mingda Machinery Co.", "phone": "133-0340-7626"},
            {"id": "e2", "name": "Mingda Machinery Ltd", "phone": "8613303407626"},
            {"id": "e3", "name": "Hengtong", "phone": "+86 22 2345 6789"},
        ],
    )
    args = ("resolve", "crm.csv", "erp.csv", "--id-column", "id", "--output", "out.csv")
    out = crm_hub(*args, "--country", "CN", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    clusters = clusters_of(tmp_path / "out.csv")
    assert clusters[("crm", "c1")] == clusters[("erp", "e1")] == clusters[("erp", "e2")]
    assert clusters[("crm", "c2")] == clusters[("erp", "e3")] != clusters[("crm", "c1")]
    bad = crm_hub(*args, "--country", "XX", cwd=tmp_path)
    assert bad.returncode == 2 and "not a region code" in bad.stderr
