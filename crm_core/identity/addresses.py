"""Addresses as comparison keys: street and house number apart, city, region, postcode.

Latin streets have their abbreviations spelled out (``Main St.`` = ``Main Street``,
``Hauptstr. 5`` = ``Hauptstraße 5``); Chinese addresses are split into their parts
(:func:`crm_core.identity.chinese.parse_address`), so that ``上海市浦东新区中山路１２３号``
and ``中山路123号`` in 上海市 share street ``中山路`` and number ``123``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm_core.identity.chinese import parse_address, to_simplified
from crm_core.identity.text import fold, has_han, nfkc

#: Street words spelled out (English, German, French).
STREET_ABBREVIATIONS = {
    "st": "street",
    "str": "strasse",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "blvd": "boulevard",
    "bd": "boulevard",
    "dr": "drive",
    "ln": "lane",
    "pkwy": "parkway",
    "hwy": "highway",
    "pl": "place",
    "cres": "crescent",
    "cct": "circuit",
    "ct": "court",
    "sq": "square",
    "tce": "terrace",
    "cl": "close",
    "pde": "parade",
    "hts": "heights",
    "mt": "mount",
    "ste": "suite",
    "fl": "floor",
    "apt": "apartment",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
}
#: no country has longer postcodes: a longer value is something else
MAX_POSTCODE = 12
_NUMBER = re.compile(r"^\d+[a-z]?(?:-\d+[a-z]?)?$")


@dataclass(frozen=True)
class StreetKeys:
    """A street line as its street name and its house number."""

    street: str | None
    number: str | None


def street_keys(line: str | None) -> StreetKeys:
    """``Hauptstr. 12`` -> (``hauptstrasse``, ``12``);
    ``中山路１２３号`` -> (``中山路``, ``123``)."""
    if not line or not line.strip():
        return StreetKeys(None, None)
    if has_han(line):
        parts = parse_address(line)
        street = parts.road or fold(parts.rest) or None
        return StreetKeys(street, parts.number)
    words: list[str] = []
    number = None
    for word in fold(line).split():
        if number is None and _NUMBER.match(word):
            number = word
            continue
        if word.endswith("str") and len(word) > 5:  # hauptstr -> hauptstrasse
            word += "asse"
        words.append(STREET_ABBREVIATIONS.get(word, word) if len(words) else word)
    return StreetKeys(" ".join(words) or None, number)


def house_number(value: str | None) -> str | None:
    """A house number on its own: folded, spaces removed (``12 a`` -> ``12a``)."""
    text = fold(value).replace(" ", "")
    return text or None


def city_key(city: str | None) -> str | None:
    """``上海市`` and ``上海`` -> ``上海``; ``Köln`` -> ``koln``; ``St. Louis`` ->
    ``saint louis``."""
    if not city or not city.strip():
        return None
    if has_han(city):
        parts = parse_address(city)
        text = parts.city or parts.district or parts.province or fold(to_simplified(city))
        return text.replace(" ", "") or None
    words = fold(city).split()
    if words and words[0] in ("st", "ste"):
        words[0] = "saint"
    return " ".join(words) or None


def region_key(region: str | None) -> str | None:
    """``广东省`` -> ``广东``; ``Baden-Württemberg`` -> ``baden wurttemberg``; ``NSW`` ->
    ``nsw``."""
    if not region or not region.strip():
        return None
    if has_han(region):
        text = fold(to_simplified(region)).replace(" ", "")
        for suffix in ("特别行政区", "自治区", "省", "市"):
            if text.endswith(suffix) and len(text) > len(suffix) + 1:
                return text[: -len(suffix)]
        return text or None
    return fold(region) or None


def postcode_key(postcode: str | None, country: str | None = None) -> str | None:
    """Upper case without spaces or dashes (``b1 1aa`` -> ``B11AA``); a US ZIP+4 as its
    five-digit ZIP."""
    if not postcode:
        return None
    text = re.sub(r"[\s\-]", "", nfkc(postcode)).upper()
    text = re.sub(r"[^0-9A-Z]", "", text)
    if (country or "").upper() == "US" and len(text) == 9 and text.isdigit():
        text = text[:5]
    return text if 0 < len(text) <= MAX_POSTCODE else None
