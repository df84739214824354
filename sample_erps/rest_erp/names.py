"""How the REST ERP's clerks wrote the customers down: its own spelling of the same people.

Some Chinese companies were entered by the export desk in English with pinyin, some by the
Hong Kong office in traditional characters; streets sometimes carry full-width digits;
phones are stored in E.164 or in the national format, never with the universe's spaces.
"""

from __future__ import annotations

import random
import re

from sample_erps import universe

TRADES_EN = {
    "机械制造": "Machinery Manufacturing",
    "电子科技": "Electronic Technology",
    "精密仪器": "Precision Instruments",
    "化工": "Chemical",
    "贸易": "Trading",
    "物流": "Logistics",
    "五金": "Hardware",
    "塑胶制品": "Plastic Products",
    "纺织": "Textile",
    "汽车配件": "Auto Parts",
}
TRADITIONAL = str.maketrans(
    "华东长达桥丰联远创宝机电仪贸胶纺织车广苏宁汉岛责制",
    "華東長達橋豐聯遠創寶機電儀貿膠紡織車廣蘇寧漢島責製",
)
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
MOBILE_PREFIXES = ("138", "139", "186")

_CITIES = {hanzi: pinyin for hanzi, pinyin, _region, _zip in universe._CN_CITIES}
_BRANDS = dict(universe._CN_BRANDS)
_SURNAMES = dict(universe._CN_SURNAMES)
_GIVEN = dict(universe._CN_GIVEN)


def _take(text: str, table: dict[str, str]) -> tuple[str, str] | None:
    for hanzi in sorted(table, key=len, reverse=True):
        if text.startswith(hanzi):
            return hanzi, table[hanzi]
    return None


def english_company(name: str) -> str | None:
    """``上海华盛机械制造有限公司`` as ``Shanghai Huasheng Machinery Manufacturing Co., Ltd.``;
    None for a name that is not built the usual way."""
    if not name.endswith("有限公司"):
        return None
    rest, words = name.removesuffix("有限公司"), []
    for table in (_CITIES, _BRANDS, _BRANDS, TRADES_EN):
        hit = _take(rest, table)
        if hit is None:
            continue
        rest = rest[len(hit[0]) :]
        words.append(hit[1] if table is TRADES_EN else hit[1].capitalize())
    return f"{' '.join(words)} Co., Ltd." if not rest and words else None


def pinyin_person(name: str, western_order: bool) -> str | None:
    """``王伟`` as ``Wang Wei`` (or ``Wei Wang``); None when the name is not in the tables."""
    surname = _take(name, _SURNAMES)
    if surname is None or name[len(surname[0]) :] not in _GIVEN:
        return None
    family, given = surname[1].capitalize(), _GIVEN[name[len(surname[0]) :]].capitalize()
    return f"{given} {family}" if western_order else f"{family} {given}"


def spelled(customer: universe.TrueCustomer, rng: random.Random) -> str:
    """The customer's name as this ERP has it."""
    if customer.country != "CN":
        return customer.name
    roll = rng.random()
    if roll < 0.3:
        romanized = (
            english_company(customer.name)
            if customer.kind == "company"
            else pinyin_person(customer.name, rng.random() < 0.5)
        )
        return romanized or customer.name
    if roll < 0.38:
        return customer.name.translate(TRADITIONAL)
    return customer.name


def street(customer: universe.TrueCustomer, rng: random.Random) -> str:
    """The street line, with full-width digits in some Chinese addresses."""
    if customer.country == "CN" and rng.random() < 0.1:
        return customer.street.translate(FULL_WIDTH_DIGITS)
    return customer.street


def phone(number: str, rng: random.Random) -> str:
    """The phone in E.164 (``+8613812345678``) or in the country's national format."""
    if rng.random() < 0.6:
        return number.replace(" ", "")
    code, *groups = number.split(" ")
    if code == "+86":
        if groups[0] in MOBILE_PREFIXES:
            return "-".join(groups)
        return f"0{groups[0]}-{''.join(groups[1:])}"
    if code == "+1":
        digits = "".join(groups[1:])
        return f"({groups[0]}) {digits[:3]}-{digits[3:]}"
    return "0" + " ".join(groups)


def is_e164(number: str) -> bool:
    """Whether a phone is in E.164 form."""
    return re.fullmatch(r"\+[1-9]\d{6,14}", number) is not None
