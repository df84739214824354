"""How one system writes a customer's name, phone, e-mail and address: the variation seen
in Chinese multi-system customer data (place prefixes, brackets, legal forms, English and
pinyin renderings, traditional characters, full-width forms, phone formats, OCR-like
digit errors, case changes, domain aliases)."""

from __future__ import annotations

import random

from bench.unseen_cjk.entities import Address, Entity
from bench.unseen_cjk.vocab import INDUSTRIES, LEGAL_FORMS, S2T

_FULL = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-()",
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
    "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－（）",
)
_MISREAD = {"1": "7", "7": "1", "0": "8", "8": "0", "5": "6", "6": "5", "3": "8"}


def traditional(text: str) -> str:
    """``text`` in traditional characters (for the characters the generator uses)."""
    return "".join(S2T.get(c, c) for c in text)


def full_width(text: str) -> str:
    """ASCII digits, letters, hyphens and brackets as their full-width forms."""
    return text.translate(_FULL)


def digit_error(digits: str, rng: random.Random) -> str:
    """One OCR- or typing-like error: a misread digit (1/7, 0/8, 5/6, 3/8) or two
    neighbouring digits swapped, never in the first three digits."""
    chars = list(digits)
    positions = [i for i in range(3, len(chars)) if chars[i] in _MISREAD]
    if positions and rng.random() < 0.6:
        i = rng.choice(positions)
        chars[i] = _MISREAD[chars[i]]
    else:
        i = rng.randrange(3, len(chars) - 1)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def tax_id_typo(code: str, rng: random.Random) -> str:
    """A unified social credit code with one character mistyped."""
    i = rng.randrange(2, len(code))
    wrong = rng.choice([c for c in "0123456789ABCDEFGH" if c != code[i]])
    return code[:i] + wrong + code[i + 1 :]


# -- company names --------------------------------------------------------------------


def brand_zh(e: Entity) -> str:
    """The brand in characters: 恒通."""
    return "".join(c for c, _ in e.brand)


def brand_pinyin(e: Entity, rng: random.Random) -> str:
    """The brand in pinyin as people type it: Hengtong, Heng Tong, HENGTONG, HengTong."""
    parts = [p for _, p in e.brand]
    style = rng.choices(("joined", "spaced", "upper", "camel", "hyphen"), (60, 15, 10, 10, 5))[0]
    if style == "spaced":
        return " ".join(p.capitalize() for p in parts)
    if style == "upper":
        return "".join(parts).upper()
    if style == "camel":
        return "".join(p.capitalize() for p in parts)
    if style == "hyphen":
        return "-".join(p.capitalize() for p in parts)
    return "".join(parts).capitalize()


def company_zh(
    e: Entity,
    rng: random.Random,
    *,
    place: str,
    parent: Entity | None = None,
    legal: bool = True,
) -> str:
    """The Chinese name: place ``front`` (天津恒通贸易有限公司), ``front_shi`` (天津市...),
    ``brackets`` (恒通贸易（天津）有限公司), ``half_brackets`` or ``none``; ``legal`` False
    drops the legal form (温州瑞安纺织)."""
    if parent is not None:  # a branch: the parent's name, the city, 分公司
        head = company_zh(parent, rng, place=rng.choice(("none", "none", "front")))
        return head + e.city.city + ("分公司" if rng.random() < 0.85 else "分部")
    city = e.city.city
    core = brand_zh(e) + INDUSTRIES[e.industry][0]
    form = e.legal_form
    r = rng.random()
    if form == "有限公司" and r < 0.12:
        form = "有限责任公司"
    elif form == "有限责任公司" and r < 0.3:
        form = "有限公司"
    elif form == "股份有限公司" and r < 0.1:
        form = "股份公司"
    if not legal:
        form = ""
    if place == "front":
        return city + core + form
    if place == "front_shi":
        return city + "市" + core + form
    if place == "brackets" and form:
        return core + "（" + city + "）" + form
    if place == "half_brackets" and form:
        return core + "(" + city + ")" + form
    return core + form


def company_en(e: Entity, rng: random.Random, parent: Entity | None = None) -> str:
    """The English name: Hangzhou Mingda Machinery Co., Ltd., Mingda Machinery (Hangzhou)
    Co., Ltd., or without the place; a branch as ``<parent> Tianjin Branch``."""
    if parent is not None:
        return company_en(parent, rng) + f" {e.city.city_py} Branch"
    brand = brand_pinyin(e, rng)
    industry = INDUSTRIES[e.industry][1]
    form = rng.choice(LEGAL_FORMS[e.legal_form])
    city = e.city.city_py
    style = rng.choices(("front", "brackets", "none"), (65, 15, 20))[0]
    if style == "front":
        name = f"{city} {brand} {industry} {form}"
    elif style == "brackets":
        name = f"{brand} {industry} ({city}) {form}"
    else:
        name = f"{brand} {industry} {form}"
    if rng.random() < 0.08:
        name = name.upper()
    return name


# -- person names ---------------------------------------------------------------------


def person_zh(e: Entity, rng: random.Random) -> str:
    """周建华, or 周 建华 as some clerks type it."""
    given = "".join(c for c, _ in e.given)
    return e.surname[0] + (" " if rng.random() < 0.2 else "") + given


def person_latin(e: Entity, rng: random.Random) -> str:
    """ZHOU Jianhua, Jianhua Zhou, Zhou Jian Hua, Jian-Hua Zhou, Zhou Jianhua, zhou jianhua."""
    sur = e.surname[1].capitalize()
    syll = [p for _, p in e.given]
    given = "".join(syll).capitalize()
    style = rng.choices(
        ("UPPER_first", "given_first", "spaced", "hyphen_first", "plain", "lower"),
        (25, 30, 10, 10, 20, 5),
    )[0]
    if style == "UPPER_first":
        return f"{sur.upper()} {given}"
    if style == "given_first":
        return f"{given} {sur}"
    if style == "spaced":
        return sur + " " + " ".join(s.capitalize() for s in syll)
    if style == "hyphen_first":
        return "-".join(s.capitalize() for s in syll) + " " + sur
    if style == "lower":
        return f"{sur} {given}".lower()
    return f"{sur} {given}"


# -- phones ---------------------------------------------------------------------------


def mobile(digits: str, rng: random.Random, *, international: float) -> str:
    """A mobile number: +86 133 0340 7626, 0086 133 0340 7626, 8613303407626,
    +8613303407626, or national 133-0340-7626, 13303407626, 133 0340 7626."""
    a, b, c = digits[:3], digits[3:7], digits[7:]
    if rng.random() < international:
        return rng.choice(
            (
                f"+86 {a} {b} {c}",
                f"0086 {a} {b} {c}",
                f"86{digits}",
                f"+86{digits}",
                f"+86-{digits}",
            )
        )
    return rng.choice((f"{a}-{b}-{c}", digits, digits, f"{a} {b} {c}"))


def landline(area: str, local: str, rng: random.Random, *, international: float) -> str:
    """A landline: 021-6234 5678, (021)62345678, 021-62345678, 02162345678,
    +86 21 6234 5678, 0086-21-62345678, sometimes with an extension."""
    split = f"{local[:-4]} {local[-4:]}"
    if rng.random() < international:
        text = rng.choice(
            (f"+86 {area[1:]} {split}", f"0086-{area[1:]}-{local}", f"+86-{area[1:]}-{local}")
        )
    else:
        text = rng.choice(
            (
                f"{area}-{split}",
                f"({area}){local}",
                f"{area}-{local}",
                f"{area}{local}",
                f"{area} {local}",
            )
        )
    if rng.random() < 0.2:
        ext = str(rng.randint(800, 8999))
        text += rng.choice((f"-{ext}", f" ext. {ext}", f" 转{ext}", f" x{ext}"))
    return text


def phone(
    e: Entity, rng: random.Random, *, missing: float, international: float, prefer_mobile: float
) -> str:
    """The phone one system holds for ``e``; about 3% carry one digit error."""
    if rng.random() < missing:
        return ""
    use_mobile = e.mobile is not None and (e.switchboard is None or rng.random() < prefer_mobile)
    wrong = rng.random() < 0.03
    if use_mobile:
        assert e.mobile is not None
        digits = digit_error(e.mobile, rng) if wrong else e.mobile
        return mobile(digits, rng, international=international)
    assert e.switchboard is not None
    area, local = e.switchboard
    if wrong:
        local = digit_error("000" + local, rng)[3:]
    return landline(area, local, rng, international=international)


# -- e-mail ---------------------------------------------------------------------------


def email(e: Entity, rng: random.Random, *, missing: float) -> str:
    """An address of ``e``'s, in a case someone typed it, on its main domain or an alias."""
    if rng.random() < missing or not e.email_locals:
        return ""
    local = rng.choice(e.email_locals)
    domains = e.email_domains
    domain = domains[1] if len(domains) > 1 and rng.random() < 0.35 else domains[0]
    text = f"{local}@{domain}"
    r = rng.random()
    if r < 0.07:
        text = text.upper()
    elif r < 0.17:
        text = local.capitalize() + "@" + domain.capitalize()
    return text


# -- addresses ------------------------------------------------------------------------


def province_zh(a: Address, rng: random.Random) -> str:
    """浙江省 / 浙江; 天津市 / 天津."""
    suffix = "市" if a.city.municipality else "省"
    return a.city.province + (suffix if rng.random() < 0.55 else "")


def city_zh(a: Address, rng: random.Random) -> str:
    """杭州市 / 杭州."""
    return a.city.city + ("市" if rng.random() < 0.55 else "")


def street_zh(a: Address, rng: random.Random, *, district: bool = True) -> str:
    """河西区友谊路25号国贸大厦12层1203室 with the district's 区 sometimes left out."""
    text = ""
    if district:
        text += a.district[0] + ("区" if rng.random() < 0.8 else "")
    text += a.street[0] + f"{a.number}号"
    if a.building:
        text += a.building[0] + rng.choice(
            (f"{a.floor}层{a.room}室", f"{a.room}室", f"{a.floor}楼{a.room}")
        )
    return text


def full_address_zh(a: Address, rng: random.Random) -> str:
    """Province, city, district and street in one string, with or without 省/市/区, with
    or without spaces between the parts."""
    parts = []
    if not a.city.municipality and rng.random() < 0.7:
        parts.append(province_zh(a, rng))
    parts.append(city_zh(a, rng))
    parts.append(street_zh(a, rng))
    return (" " if rng.random() < 0.2 else "").join(parts)


def street_en(a: Address, rng: random.Random) -> str:
    """Room 1203, 12F, Guomao Tower, No. 25 Youyi Road, Hexi District."""
    name, kind = a.street[1], a.street[2]
    if rng.random() < 0.3:
        kind = {"Road": "Rd.", "Avenue": "Ave.", "Street": "St."}[kind]
    parts = []
    if a.building:
        parts.append(rng.choice((f"Room {a.room}, {a.floor}F", f"Rm {a.room}", f"{a.floor}/F")))
        parts.append(a.building[1])
    parts.append(rng.choice((f"No. {a.number} {name} {kind}", f"{a.number} {name} {kind}")))
    if rng.random() < 0.8:
        parts.append(a.district[1] + rng.choice((" District", " Dist.", " Qu")))
    return ", ".join(parts)


def province_en(a: Address, rng: random.Random) -> str:
    """Zhejiang, Zhejiang Province, Tianjin."""
    if a.city.municipality:
        return a.city.province_py
    return a.city.province_py + (" Province" if rng.random() < 0.3 else "")


def city_en(a: Address, rng: random.Random) -> str:
    """Hangzhou, Hangzhou City, HANGZHOU."""
    r = rng.random()
    if r < 0.15:
        return a.city.city_py + " City"
    if r < 0.22:
        return a.city.city_py.upper()
    return a.city.city_py
