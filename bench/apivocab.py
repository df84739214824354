"""The words the API benchmark's customers are named from, and which name customer ``i`` has.

Names are built from parts by mixed-radix arithmetic on the customer number, so that the
store can be generated in SQL (``generate_series``) and the load generator can say which
name, pinyin and phone number a customer has without asking the store. Each part's folded
form, pinyin and pinyin initials come from the hub's own functions (``name_form``,
``pinyin_syllables``), so the search index built from them in SQL is the one the hub
would build (:func:`bench.apidata.verify_search_index` checks a sample).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.api.service.search_index import name_form
from crm_core.identity.chinese import pinyin_syllables

CITIES = (
    ("上海", "上海市"),
    ("北京", "北京市"),
    ("深圳", "广东省"),
    ("广州", "广东省"),
    ("杭州", "浙江省"),
    ("苏州", "江苏省"),
    ("南京", "江苏省"),
    ("天津", "天津市"),
    ("武汉", "湖北省"),
    ("成都", "四川省"),
    ("西安", "陕西省"),
    ("宁波", "浙江省"),
    ("无锡", "江苏省"),
    ("青岛", "山东省"),
    ("厦门", "福建省"),
    ("佛山", "广东省"),
    ("东莞", "广东省"),
    ("合肥", "安徽省"),
    ("郑州", "河南省"),
    ("济南", "山东省"),
)
BRAND = tuple(
    "华盛宏达恒信精鑫源瑞丰金泰新天永安中德博远凯利汇通宇航振兴嘉鼎立欣荣佳美海峰正同创"
    "力星光明久益昌隆祥富康宁广胜弘圣腾飞辉铭"
)
INDUSTRIES = (
    "机械制造",
    "电子科技",
    "精密仪器",
    "五金工具",
    "化工材料",
    "自动化设备",
    "电气",
    "物流",
    "贸易",
    "建材",
    "包装材料",
    "塑胶制品",
    "纺织",
    "食品",
    "医疗器械",
    "汽车配件",
)
SUFFIXES = ("有限公司", "股份有限公司")
SURNAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Smith", "Johnson", "Brown", "Taylor", "Anderson", "Thomas",
    "Jackson", "White", "Harris", "Martin", "Thompson", "Garcia", "Martinez", "Robinson",
    "Clark", "Lewis", "Walker", "Hall", "Allen", "Young", "King", "Wright", "Scott",
    "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Roberts", "Turner",
    "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris",
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
    "Marino", "Dubois", "Laurent",
)  # fmt: skip
TRADES = (
    "Maschinenbau", "Industrial Supply", "Engineering", "Precision Tools", "Automation",
    "Electronics", "Hydraulics", "Components", "Fasteners", "Logistics", "Pumpen",
    "Antriebstechnik", "Metallbau", "Kunststofftechnik", "Elektrotechnik", "Werkzeugbau",
    "Steel", "Bearings", "Valves", "Sensors", "Controls", "Packaging", "Chemicals",
    "Plastics", "Textiles", "Foods", "Medical", "Auto Parts", "Cables", "Motors",
    "Compressors", "Filters", "Fluid Power", "Robotics", "Optics", "Instruments",
    "Machining", "Castings", "Forgings", "Coatings", "Adhesives", "Lighting", "Energy",
    "Solar", "Water Systems", "Air Systems", "Heating", "Cooling", "Welding", "Tooling",
)  # fmt: skip
FORMS = ("GmbH", "Inc.", "Ltd.", "AG", "S.p.A.", "SARL", "LLC", "Co.", "KG", "B.V.")
TAILS = (
    "", "& Söhne", "& Partner", "Group", "Brothers", "International", "Holding", "Technik",
    "Systems", "Works",
)  # fmt: skip
#: (city, region) of the Latin-named customers, by country
LATIN_PLACES = {"DE": ("Berlin", "Berlin"), "US": ("New York", "NY")}
#: mobile prefixes of the Chinese customers' phones
MOBILE = ("138", "139", "135", "136", "150", "151", "186", "187", "131", "133")
#: which customers have a Chinese name: i % 10 below this
HAN_SHARE = 7
HAN_SPACE = len(CITIES) * len(BRAND) ** 2 * len(INDUSTRIES) * len(SUFFIXES)
LATIN_SPACE = len(SURNAMES) * len(TRADES) * len(FORMS) * len(TAILS)
PRIME = 7919


@dataclass(frozen=True)
class Part:
    """One word of a name: as written, folded, its pinyin and pinyin initials."""

    text: str
    folded: str
    pinyin: str
    initials: str


def part(text: str) -> Part:
    """``text`` with its folded form and, for Chinese, its pinyin (the hub's functions)."""
    folded = name_form(text)
    syllables = pinyin_syllables(folded) if any("\u4e00" <= c <= "\u9fff" for c in text) else []
    return Part(text, folded, "".join(syllables), "".join(s[0] for s in syllables if s))


def han_digits(i: int) -> tuple[int, int, int, int, int]:
    """(city, brand 1, brand 2, industry, suffix) of Chinese-named customer ``i``."""
    k = (i // 10) * HAN_SHARE + i % 10
    h = (k * PRIME) % HAN_SPACE
    n = len(BRAND)
    return (
        h % len(CITIES),
        (h // len(CITIES)) % n,
        (h // (len(CITIES) * n)) % n,
        (h // (len(CITIES) * n * n)) % len(INDUSTRIES),
        (h // (len(CITIES) * n * n * len(INDUSTRIES))) % len(SUFFIXES),
    )


def latin_digits(i: int) -> tuple[int, int, int, int]:
    """(surname, trade, form, tail) of Latin-named customer ``i``."""
    j = (i // 10) * (10 - HAN_SHARE) + i % 10 - HAN_SHARE
    h = (j * PRIME) % LATIN_SPACE
    s, t, f = len(SURNAMES), len(TRADES), len(FORMS)
    return h % s, (h // s) % t, (h // (s * t)) % f, (h // (s * t * f)) % len(TAILS)


def is_han(i: int) -> bool:
    """Whether customer ``i`` has a Chinese name."""
    return i % 10 < HAN_SHARE


def name_of(i: int) -> str:
    """The name of customer ``i`` (what the SQL generator writes)."""
    if is_han(i):
        c, b1, b2, ind, suf = han_digits(i)
        return CITIES[c][0] + BRAND[b1] + BRAND[b2] + INDUSTRIES[ind] + SUFFIXES[suf]
    s, t, f, tail = latin_digits(i)
    return " ".join(w for w in (SURNAMES[s], TRADES[t], FORMS[f], TAILS[tail]) if w)


def queries_of(i: int) -> dict[str, str]:
    """What a CSR would type to find customer ``i``: a Chinese name's brand and trade in
    characters and in pinyin, a Latin name's first two words, and the phone number."""
    out = {"phone": phone_of(i)}
    if is_han(i):
        _c, b1, b2, ind, _s = han_digits(i)
        words = BRAND[b1] + BRAND[b2] + INDUSTRIES[ind]
        out["chinese"] = words
        out["pinyin"] = "".join(pinyin_syllables(words))
    else:
        s, t, _f, _tail = latin_digits(i)
        out["latin"] = f"{SURNAMES[s]} {TRADES[t]}"
    return out


def country_of(i: int) -> str:
    """CN for Chinese names; DE or US for Latin ones."""
    if is_han(i):
        return "CN"
    return "DE" if (i // 10) % 2 == 0 else "US"


def phone_of(i: int) -> str:
    """The phone number as the legacy ERP writes it (national form)."""
    n = (i * PRIME) % 100_000_000
    country = country_of(i)
    if country == "CN":
        return f"{MOBILE[i % len(MOBILE)]}-{n // 10000:04d}-{n % 10000:04d}"
    if country == "DE":
        return f"030 {n:08d}"
    return f"(212) {200 + n // 10000 % 800:03d}-{n % 10000:04d}"
