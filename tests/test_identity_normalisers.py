"""Every normaliser of identity resolution, on Chinese and Latin input, hostile included."""

from __future__ import annotations

import pytest

from crm_core.identity.addresses import city_key, postcode_key, region_key, street_keys
from crm_core.identity.chinese import (
    parse_address,
    pinyin_syllables,
    split_person_name,
    to_simplified,
)
from crm_core.identity.emails import normalise_email
from crm_core.identity.features import normalise_date
from crm_core.identity.names import name_keys, strip_company_form
from crm_core.identity.phones import normalise_phone
from crm_core.identity.tax_ids import normalise_tax_id
from crm_core.identity.text import MAX_LENGTH, fold, is_blank, strip_accents

HOSTILE = ["", "   ", "\u3000\t\n", "😀🏢🔥", "\x00\x1f", "—…·", "ＡＢＣ" * 5000, "王" * 10_000]


def test_fold_nfkc_case_accents_punctuation() -> None:
    assert fold("ＡＢＣ　１２３") == "abc 123"  # full-width letters, digits and space
    assert fold("  Müller-Lüdenscheidt  GmbH ") == "muller ludenscheidt gmbh"
    assert fold("G.m.b.H.") == "gmbh"
    assert fold("O'Brien & Sons") == "obrien sons"
    assert fold("Straße") == "strasse"
    assert fold("上海（华盛）有限公司") == "上海 华盛 有限公司"
    assert strip_accents("Chloé Zoë Novák") == "Chloe Zoe Novak"
    assert strip_accents("हिन्दी") == "हिन्दी"  # marks of other scripts are letters


@pytest.mark.parametrize("value", HOSTILE)
def test_every_normaliser_survives_hostile_input(value: str) -> None:
    outputs = [
        fold(value),
        name_keys(value),
        name_keys(value, kind="person"),
        street_keys(value),
        city_key(value),
        region_key(value),
        postcode_key(value),
        normalise_phone(value, "CN"),
        normalise_email(value),
        normalise_tax_id(value, "DE"),
        normalise_date(value),
        parse_address(value),
    ]
    texts = [o for o in outputs if isinstance(o, str)] + [
        v for o in outputs if not isinstance(o, str | None) for v in vars(o).values() if v
    ]
    assert all(len(t) <= MAX_LENGTH for t in texts)
    if is_blank(value) or not any(c.isalnum() for c in value):
        assert name_keys(value).key is None
        assert normalise_phone(value) is None and normalise_email(value) is None
        assert normalise_tax_id(value) is None and normalise_date(value) is None


def test_very_long_names_are_cut() -> None:
    keys = name_keys("王" * 10_000 + "有限公司")
    assert keys.key is not None and len(keys.key) <= MAX_LENGTH


def test_traditional_folds_to_simplified() -> None:
    assert to_simplified("上海華盛機械製造有限責任公司") == "上海华盛机械制造有限责任公司"
    assert to_simplified("Müller GmbH") == "Müller GmbH"


def test_pinyin_reads_polyphones_in_context_and_keeps_latin_words() -> None:
    assert pinyin_syllables("重庆长城") == ["chong", "qing", "chang", "cheng"]
    assert pinyin_syllables("ABC贸易") == ["abc", "mao", "yi"]
    assert pinyin_syllables("Wang Wei") == ["wang", "wei"]


def test_chinese_person_names_split_on_compound_surnames() -> None:
    assert split_person_name("王伟") == ("王", "伟")
    assert split_person_name("欧阳秀英") == ("欧阳", "秀英")
    assert split_person_name("上海华盛机械制造") is None  # too long for a person
    assert split_person_name("Wang Wei") is None


@pytest.mark.parametrize(
    ("name", "city", "key"),
    [
        ("上海华盛机械制造有限公司", "上海市", "华盛机械制造"),
        ("上海華盛機械製造有限責任公司", "上海市", "华盛机械制造"),  # traditional
        ("华盛机械制造(有限公司)", "上海市", "华盛机械制造"),  # no city, form in brackets
        ("上海华盛机械制造股份有限公司 ", None, "上海华盛机械制造"),
        ("华盛集团", "北京市", "华盛"),
        ("ＡＢＣ貿易有限公司", None, "abc贸易"),  # full-width Latin, mixed scripts
        ("有限公司", None, "有限公司"),  # nothing but a form: kept
    ],
)
def test_chinese_company_names(name: str, city: str | None, key: str) -> None:
    assert name_keys(name, kind="company", city=city).key == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Müller Maschinenbau GmbH & Co. KG", "MULLER MASCHINENBAU G.m.b.H."),
        ("Smith Precision Tools Inc.", "SMITH PRECISION TOOLS INCORPORATED"),
        ("Brown Logistics Ltd", "Brown  Logistics Limited"),
        ("Dubois Plastics SARL", "dubois plastics s.a.r.l."),
        ("Acme Intl. Mfg. Corp.", "ACME International Manufacturing Corporation"),
        ("O'Brien Textiles PLC", "OBrien Textiles plc"),
    ],
)
def test_latin_company_names_agree(a: str, b: str) -> None:
    assert name_keys(a).key == name_keys(b).key


def test_strip_company_form_removes_forms_at_the_end_only() -> None:
    assert strip_company_form("johnson and johnson") == "johnson and johnson"
    assert strip_company_form("co operative bank ltd") == "co operative bank"
    assert strip_company_form("华盛有限责任公司") == "华盛"


def test_person_names_agree_across_scripts_and_order() -> None:
    latin = {
        name_keys(n, kind="person").latin for n in ("王伟", "Wang Wei", "Wei Wang", "WANG wei")
    }
    assert latin == {"wang wei"}
    assert name_keys("欧阳秀英").latin == name_keys("Xiuying Ouyang", kind="person").latin
    assert name_keys("Chloé Dubois").key == name_keys("CHLOE DUBOIS").key


def test_romanised_company_shares_its_pinyin_words() -> None:
    han = name_keys("上海华盛机械制造有限公司", kind="company", city="上海市")
    assert han.latin == "huashengjixiezhizao"
    assert name_keys("Huasheng Trading Co., Ltd.").latin == "huasheng trading"


def test_streets_split_number_and_spell_out_abbreviations() -> None:
    assert street_keys("Hauptstr. 12") == street_keys("Hauptstraße 12")
    assert street_keys("Hauptstraße 12").number == "12"
    assert street_keys("5 Main St.") == street_keys("Main Street 5")
    assert street_keys("中山路１２３号") == street_keys("上海市浦东新区中山路123号")
    assert street_keys("中山路１２３号").street == "中山路"
    assert street_keys("  ").street is None


def test_chinese_address_components() -> None:
    parts = parse_address("廣東省深圳市南山區科技園路88號5樓")  # traditional, with a floor
    assert (parts.province, parts.city, parts.district) == ("广东", "深圳", "南山区")
    assert (parts.road, parts.number, parts.rest) == ("科技园路", "88", "5楼")
    assert parse_address("上海市中山路1号").province == "上海"


def test_city_region_postcode() -> None:
    assert city_key("上海市") == city_key("上海") == "上海"
    assert city_key("Köln") == "koln"
    assert city_key("St. Louis") == "saint louis"
    assert region_key("广东省") == "广东"
    assert region_key("Baden-Württemberg") == "baden wurttemberg"
    assert postcode_key("b1 1aa") == "B11AA"
    assert postcode_key("60601-1234", "US") == "60601"
    assert postcode_key("２００１２３") == "200123"


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("+86 138 1234 5678", "CN", "+8613812345678"),
        ("138-1234-5678", "CN", "+8613812345678"),
        ("１３８１２３４５６７８", "CN", "+8613812345678"),  # full-width digits
        ("021-12345678", "CN", "+862112345678"),
        ("(312) 555-0123", "US", "+13125550123"),
        ("0049 89 1234567", None, "+49891234567"),
        ("089 1234567 ext. 12", "DE", "+49891234567"),
        ("0207 946 0018", "GB", "+442079460018"),
        ("+44 (0)20 7946 0018", "DE", "+442079460018"),
    ],
)
def test_phones_in_e164_from_the_records_country(raw: str, country: str | None, e164: str) -> None:
    assert normalise_phone(raw, country) == e164


def test_phone_placeholders_and_unparseable_numbers() -> None:
    assert normalise_phone("000000", "DE") is None
    assert normalise_phone("n/a") is None
    assert normalise_phone("12345678") == "12345678"  # no country: its digits


def test_emails() -> None:
    assert normalise_email("John.Doe+crm@GoogleMail.com") == "johndoe@gmail.com"
    assert normalise_email("Ada Lovelace <ADA@Example.COM>") == "ada@example.com"
    assert normalise_email(" mailto:sales@华盛.cn ") == "sales@华盛.cn"
    assert normalise_email("ＩＮＦＯ＠ＡＣＭＥ．ＤＥ") == "info@acme.de"
    assert normalise_email("not an address") is None
    assert normalise_email("a@b") is None


def test_tax_ids() -> None:
    assert normalise_tax_id("DE 123.456.789", "DE") == normalise_tax_id("123456789", "DE")
    assert normalise_tax_id("91310000-ma1fl4xx3k") == "91310000MA1FL4XX3K"
    assert normalise_tax_id("000000000") is None
    assert normalise_tax_id("n/a") is None


def test_dates() -> None:
    assert normalise_date("19151111") == "1915-11-11"
    assert normalise_date("1915-11-11T00:00:00") == "1915-11-11"
    assert normalise_date("11.11.1915") == "1915-11-11"
    assert normalise_date("19152311") is None
