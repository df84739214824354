"""Chinese text: traditional -> simplified folding (OpenCC), pinyin keys (pypinyin),
personal names split into surname and given name, and addresses split into their parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from crm_core.identity.text import MAX_LENGTH, has_han, is_han, nfkc

# Two-character surnames (复姓): the rest of Chinese surnames are one character.
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "司空",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "百里",
        "呼延",
        "闻人",
        "申屠",
        "太史",
        "澹台",
        "公冶",
        "宗政",
        "濮阳",
        "淳于",
        "单于",
        "赫连",
        "拓跋",
        "第五",
        "万俟",
        "东郭",
        "左丘",
        "谷梁",
        "梁丘",
        "乐正",
        "漆雕",
        "壤驷",
        "巫马",
        "公西",
        "颛孙",
        "司寇",
        "仲孙",
    ]
)


@cache
def _converter() -> Any:
    import opencc  # the OpenCC project's own binding (PyPI "opencc")

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters as simplified ones (``華盛機械`` -> ``华盛机械``); text
    without Chinese characters comes back unchanged."""
    return _converter().convert(text) if has_han(text) else text


@lru_cache(maxsize=200_000)  # names repeat across records and cities; pypinyin is slow
def _pinyin(text: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    out: list[str] = []
    for piece in lazy_pinyin(to_simplified(text)):
        out.extend(piece.lower().split())
    return tuple(out)


def pinyin_syllables(text: str) -> list[str]:
    """Toneless pinyin, one syllable per Chinese character; other words are kept, lower case.

    ``重庆ABC贸易`` -> ``['chong', 'qing', 'abc', 'mao', 'yi']`` (pypinyin reads
    polyphonic characters in context: 重庆 is *chongqing*, not *zhongqing*).
    """
    if not has_han(text):
        return text.lower().split()
    return list(_pinyin(text))


def split_person_name(name: str) -> tuple[str, str] | None:
    """A Chinese personal name as (surname, given name): ``欧阳秀英`` -> (``欧阳``, ``秀英``).

    None unless ``name`` is 2 to 4 Chinese characters (anything else is not a plain
    Chinese personal name).
    """
    name = name.replace(" ", "")
    if not 2 <= len(name) <= 4 or not all(is_han(c) for c in name):
        return None
    cut = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:cut], name[cut:]


@dataclass(frozen=True)
class ChineseAddress:
    """The parts of a Chinese address, each without the others (all optional)."""

    province: str | None = None
    city: str | None = None
    district: str | None = None
    town: str | None = None
    road: str | None = None
    number: str | None = None
    rest: str | None = None


_MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
_ADDRESS = re.compile(
    r"^(?P<province>[\u4e00-\u9fff]{2,7}?(?:省|自治区|特别行政区))?"
    r"(?P<city>(?:北京|上海|天津|重庆)市?|[\u4e00-\u9fff]{2,7}?(?:市|自治州|地区|盟))?"
    r"(?P<district>[\u4e00-\u9fff]{1,7}?(?:新区|区|县|旗))?"
    r"(?P<town>[\u4e00-\u9fff]{1,7}?(?:镇|乡|街道))?"
    r"(?P<road>[\u4e00-\u9fff0-9a-z]{1,12}?(?:大道|大街|路|街|道|巷|弄|胡同|里))?"
    r"(?:(?P<number>\d+(?:-\d+)?)号?)?"
    r"(?P<rest>.*)$"
)


def parse_address(text: str) -> ChineseAddress:
    """Split a Chinese address line into province, city, district, town, road, number.

    ``上海市浦东新区中山路１２３号5楼`` -> city ``上海``, district ``浦东新区``, road
    ``中山路``, number ``123``, rest ``5楼``. Suffixes 省/市 are dropped from province
    and city so that ``上海`` and ``上海市`` compare equal. Text is NFKC-folded and
    simplified first; what does not parse ends up in ``rest``.
    """
    text = to_simplified(nfkc(text)).replace(" ", "").lower()[:MAX_LENGTH]
    match = _ADDRESS.match(text)
    parts = match.groupdict() if match else {"rest": text}
    if parts.get("province"):
        parts["province"] = re.sub(r"(省|自治区|特别行政区)$", "", parts["province"])
    if parts.get("city"):
        city = parts["city"]
        parts["city"] = city[:-1] if city.endswith("市") and len(city) > 2 else city
    if parts.get("province") is None and parts.get("city") in _MUNICIPALITIES:
        parts["province"] = parts["city"]
    return ChineseAddress(**{k: (v or None) for k, v in parts.items()})
