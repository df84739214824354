"""Company names as (place, brand, industry, legal form), the same in either script and
word order.

``Hangzhou Mingda Machinery Co., Ltd.`` and ``杭州明达机械有限公司`` are both
(``hangzhou``, ``mingda``, ``machinery``, ``limited``); ``恒通贸易（天津）有限公司`` and
``天津市恒通贸易有限责任公司`` are both (``tianjin``, ``hengtong``, ``trading``,
``limited``). The place comes from the front of the name, from brackets, or from an
English prefix (:file:`places.yaml`); industry words from the end
(:file:`industry_words.yaml`, both ways); the brand is what is left, in pinyin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crm_core.identity.chinese import pinyin_syllables, to_simplified
from crm_core.identity.text import fold, has_han, is_han, nfkc

HERE = Path(__file__).parent
PLACES_FILE = HERE / "places.yaml"
INDUSTRY_FILE = HERE / "industry_words.yaml"

#: Chinese legal forms, longest first -> their kind
CHINESE_FORMS = (
    ("集团股份有限公司", "joint stock"),
    ("股份有限公司", "joint stock"),
    ("集团有限责任公司", "limited"),
    ("集团有限公司", "limited"),
    ("有限责任公司", "limited"),
    ("有限公司", "limited"),
    ("股份公司", "joint stock"),
    ("责任公司", "limited"),
    ("分公司", "branch"),
    ("总公司", "company"),
    ("集团", "group"),
    ("公司", "company"),
)
#: Latin legal forms as folded word sequences, longest first -> their kind
LATIN_FORMS = (
    (("co", "ltd"), "limited"),
    (("company", "limited"), "limited"),
    (("co", "limited"), "limited"),
    (("joint", "stock", "co"), "joint stock"),
    (("joint", "stock", "company"), "joint stock"),
    (("group", "co", "ltd"), "limited"),
    (("ltd",), "limited"),
    (("limited",), "limited"),
    (("llc",), "limited"),
    (("corp",), "corporation"),
    (("corporation",), "corporation"),
    (("inc",), "corporation"),
    (("co",), "company"),
    (("company",), "company"),
    (("group",), "group"),
)
_PLACE_SUFFIXES = ("特别行政区", "自治区", "省", "市")


@dataclass(frozen=True)
class CompanyName:
    """The parts of a company name; each None when the name does not say it.

    ``place`` and ``brand`` are in pinyin (lower case, no spaces), ``industry`` the
    canonical English words (sorted, joined by ``+``), ``form`` the kind of legal form
    (``limited``, ``joint stock``, ``corporation``, ``company``, ``group``, ``branch``).
    """

    place: str | None
    brand: str | None
    industry: str | None
    form: str | None


EMPTY = CompanyName(None, None, None, None)


@cache
def _places() -> dict[str, Any]:
    data = yaml.safe_load(PLACES_FILE.read_text(encoding="utf-8"))
    han: dict[str, str] = {}  # 杭州 -> hangzhou
    regions: dict[str, str] = {}  # 香港 / hong kong -> HK
    for group in ("provinces", "cities"):
        han.update(data[group])
    for name, info in data["other_regions"].items():
        han[name] = info["pinyin"]
        regions[name] = regions[info["pinyin"]] = info["region"]
    latin = {tuple(p.split()): p.replace(" ", "") for p in han.values()}
    countries = {fold(k): v for k, v in data["countries"].items()}
    return {"han": han, "latin": latin, "regions": regions, "countries": countries}


@cache
def _industries() -> tuple[dict[str, str], dict[tuple[str, ...], str]]:
    """(Chinese word -> canonical English, English words -> canonical English)."""
    data = yaml.safe_load(INDUSTRY_FILE.read_text(encoding="utf-8"))
    han: dict[str, str] = {}
    latin: dict[tuple[str, ...], str] = {}
    for word, english in data.items():
        canonical = english[0]
        han[word] = canonical
        latin[tuple(canonical.split())] = canonical
    for english in data.values():  # an alias goes to the first industry that lists it
        for alias in english[1:]:
            latin.setdefault(tuple(alias.split()), english[0])
    return han, latin


def han_places() -> dict[str, str]:
    """Chinese place name (simplified, no 省/市) -> its pinyin."""
    return dict(_places()["han"])


def latin_places() -> dict[tuple[str, ...], str]:
    """Place name in pinyin as words -> the same without spaces (``("hong","kong")`` ->
    ``hongkong``)."""
    return dict(_places()["latin"])


def place_region(place: str) -> str | None:
    """The phone region of a place outside mainland China's numbering plan (``香港`` ->
    ``HK``, ``taipei`` -> ``TW``); None for other places."""
    regions: dict[str, str] = _places()["regions"]
    return regions.get(place) or regions.get(place.removesuffix("市"))


def country_code(name: str | None) -> str | None:
    """A country column's value as an ISO code: two letters as they are (upper case),
    known country names (``China``, ``中国``) by :file:`places.yaml`; else None."""
    text = fold(name)
    if not text:
        return None
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    countries: dict[str, str] = _places()["countries"]
    return countries.get(text)


def company_name(name: str | None) -> CompanyName:
    """``name`` as (place, brand, industry, legal form), in either script."""
    if not name or not name.strip():
        return EMPTY
    text = to_simplified(nfkc(name))
    if has_han(text):
        return _chinese(text)
    return _latin(text)


def _chinese(text: str) -> CompanyName:
    folded = fold(text, keep="()").replace(" ", "")
    folded = re.sub(r"[^\w()]", "", folded)
    han = _places()["han"]
    place = None
    # a place in brackets: 恒通贸易(天津)有限公司
    for inner in re.findall(r"\(([^()]*)\)", folded):
        found = _han_place(inner, han, whole=True)
        if found:
            place = found[0]
    folded = re.sub(r"\([^()]*\)", "", folded).replace("(", "").replace(")", "")
    form = None
    for suffix, kind in CHINESE_FORMS:
        if folded.endswith(suffix) and len(folded) > len(suffix):
            folded, form = folded[: -len(suffix)], kind
            break
    # places at the front, most specific last: 浙江省温州市瑞安纺织
    while True:
        found = _han_place(folded, han, whole=False)
        if not found or len(folded) - found[1] < 2:
            break
        place, folded = found[0], folded[found[1] :]
    industries: list[str] = []
    han_words = _industries()[0]
    while True:
        for size in range(min(5, len(folded) - 1), 1, -1):
            word = folded[-size:]
            if word in han_words:
                industries.append(han_words[word])
                folded = folded[:-size]
                break
        else:
            break
    brand = "".join(pinyin_syllables(folded)) if folded else None
    return CompanyName(place, brand or None, _industry_key(industries), form)


def _han_place(text: str, han: dict[str, str], *, whole: bool) -> tuple[str, int] | None:
    """(pinyin, characters used) of the place ``text`` starts with (or is, ``whole``)."""
    for size in range(min(6, len(text)), 1, -1):
        head = text[:size]
        if head in han:
            end = size
            for suffix in _PLACE_SUFFIXES:
                if text[end:].startswith(suffix):
                    end += len(suffix)
                    break
            if whole and end != len(text):
                continue
            return han[head].replace(" ", ""), end
    return None


def _latin(text: str) -> CompanyName:
    bracketed = re.findall(r"\(([^()]*)\)", text)
    words = fold(re.sub(r"\([^()]*\)", " ", text)).split()
    latin = _places()["latin"]
    place = None
    for inner in bracketed:
        key = tuple(fold(inner).split())
        if key in latin:
            place = latin[key]
    form = None
    for form_words, kind in LATIN_FORMS:
        n = len(form_words)
        if len(words) > n and tuple(words[-n:]) == form_words:
            words, form = words[:-n], kind
            break
    while len(words) > 1:
        for n in (2, 1):
            if len(words) > n and tuple(words[:n]) in latin:
                place, words = latin[tuple(words[:n])], words[n:]
                break
        else:
            break
    industries: list[str] = []
    latin_words = _industries()[1]
    while len(words) > 1:
        for n in (3, 2, 1):
            if len(words) > n and tuple(words[-n:]) in latin_words:
                industries.append(latin_words[tuple(words[-n:])])
                words = words[:-n]
                break
        else:
            break
    brand = "".join(words) if words and not any(is_han(c) for w in words for c in w) else None
    return CompanyName(place, brand or None, _industry_key(industries), form)


def _industry_key(canonical: list[str]) -> str | None:
    return "+".join(sorted(set(canonical))) or None
