"""The four systems a customer appears in, each with the columns its export has and the
way its clerks and integrations write things."""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.unseen_cjk import spelling as sp
from bench.unseen_cjk.entities import Entity

Row = dict[str, str]

#: each system's export header, and which of its columns holds which ``crm-hub resolve`` role
HEADERS: dict[str, tuple[str, ...]] = {
    "erp": (
        "客户编码",
        "客户名称",
        "客户类型",
        "统一社会信用代码",
        "联系人",
        "联系电话",
        "电子邮箱",
        "省份",
        "城市",
        "详细地址",
        "邮政编码",
    ),
    "crm": (
        "Account ID",
        "Account Name",
        "Account Type",
        "Phone",
        "Email",
        "Billing Street",
        "Billing City",
        "Billing State/Province",
        "Billing Zip/Postal Code",
        "Billing Country",
    ),
    "finance": (
        "往来单位编号",
        "往来单位名称",
        "纳税人识别号",
        "地址",
        "电话",
        "开户银行",
        "银行账号",
        "邮箱",
    ),
    "shop": (
        "买家ID",
        "买家名称",
        "联系人",
        "手机号",
        "邮箱",
        "省",
        "市",
        "区",
        "详细地址",
        "发票税号",
    ),
}
ROLES: dict[str, dict[str, str]] = {
    "erp": {
        "record_id": "客户编码",
        "name": "客户名称",
        "tax_id": "统一社会信用代码",
        "phone": "联系电话",
        "email": "电子邮箱",
        "region": "省份",
        "city": "城市",
        "street": "详细地址",
        "postcode": "邮政编码",
    },
    "crm": {
        "record_id": "Account ID",
        "name": "Account Name",
        "phone": "Phone",
        "email": "Email",
        "region": "Billing State/Province",
        "city": "Billing City",
        "street": "Billing Street",
        "postcode": "Billing Zip/Postal Code",
        "country": "Billing Country",
    },
    "finance": {
        "record_id": "往来单位编号",
        "name": "往来单位名称",
        "tax_id": "纳税人识别号",
        "phone": "电话",
        "email": "邮箱",
        "street": "地址",
    },
    "shop": {
        "record_id": "买家ID",
        "name": "买家名称",
        "phone": "手机号",
        "email": "邮箱",
        "region": "省",
        "city": "市",
        "street": "详细地址",
        "tax_id": "发票税号",
    },
}
#: how likely a company / a person is to be in each system
PRESENCE: dict[str, tuple[float, float]] = {
    "erp": (1.0, 0.5),
    "crm": (0.9, 0.8),
    "finance": (0.8, 0.1),
    "shop": (0.35, 1.0),
}
_BANKS = ("中国工商银行", "中国建设银行", "招商银行", "中国银行", "交通银行", "兴业银行")


def _tax(e: Entity, rng: random.Random, present: float, typo: float) -> str:
    if e.tax_id is None or rng.random() >= present:
        return ""
    return sp.tax_id_typo(e.tax_id, rng) if rng.random() < typo else e.tax_id


def _contact(e: Entity, rng: random.Random) -> str:
    return sp.person_zh(e, rng) if e.kind == "company" and rng.random() < 0.7 else ""


def erp(e: Entity, rng: random.Random, parent: Entity | None) -> Row:
    """A Chinese ERP: Chinese names with the place in front, with 市, in brackets or
    dropped; tax ids for most companies; national phone formats; split address."""
    a = e.address
    if e.kind == "company":
        place = rng.choices(("front", "front_shi", "brackets", "none"), (50, 15, 15, 20))[0]
        name = sp.company_zh(e, rng, place=place, parent=parent, legal=rng.random() > 0.05)
    else:
        name = sp.person_zh(e, rng)
    if rng.random() < 0.03:
        name = sp.traditional(name)
    street = sp.street_zh(a, rng) if rng.random() < 0.8 else sp.full_address_zh(a, rng)
    if rng.random() < 0.15:
        street = sp.full_width(street)
    tel = sp.phone(e, rng, missing=0.1, international=0.1, prefer_mobile=0.3)
    if rng.random() < 0.05:
        tel = sp.full_width(tel)
    return {
        "客户名称": name,
        "客户类型": "企业" if e.kind == "company" else "个人",
        "统一社会信用代码": _tax(e, rng, 0.7, 0.02),
        "联系人": _contact(e, rng),
        "联系电话": tel,
        "电子邮箱": sp.email(e, rng, missing=0.3),
        "省份": sp.province_zh(a, rng) if rng.random() < 0.9 else "",
        "城市": sp.city_zh(a, rng) if rng.random() < 0.95 else "",
        "详细地址": street if rng.random() < 0.95 else "",
        "邮政编码": a.postcode if rng.random() < 0.6 else "",
    }


def crm(e: Entity, rng: random.Random, parent: Entity | None) -> Row:
    """An English SaaS CRM: English or pinyin names for half the customers, +86 phones,
    English addresses, a country written China / CN / 中国 or not at all."""
    a = e.address
    english = rng.random() < 0.55
    if e.kind == "company":
        if english:
            name = sp.company_en(e, rng, parent=parent)
        else:
            place = rng.choices(("front", "brackets", "half_brackets", "none"), (55, 20, 10, 15))[0]
            name = sp.company_zh(e, rng, place=place, parent=parent)
    else:
        name = sp.person_latin(e, rng) if rng.random() < 0.6 else sp.person_zh(e, rng)
    address_en = rng.random() < 0.55
    return {
        "Account Name": name,
        "Account Type": "Company" if e.kind == "company" else "Individual",
        "Phone": sp.phone(e, rng, missing=0.08, international=0.6, prefer_mobile=0.4),
        "Email": sp.email(e, rng, missing=0.15),
        "Billing Street": (sp.street_en(a, rng) if address_en else sp.street_zh(a, rng))
        if rng.random() < 0.9
        else "",
        "Billing City": (sp.city_en(a, rng) if address_en else sp.city_zh(a, rng))
        if rng.random() < 0.92
        else "",
        "Billing State/Province": (sp.province_en(a, rng) if address_en else sp.province_zh(a, rng))
        if rng.random() < 0.8
        else "",
        "Billing Zip/Postal Code": a.postcode if rng.random() < 0.4 else "",
        "Billing Country": rng.choices(("China", "CN", "中国", "PRC", ""), (40, 20, 10, 5, 25))[0],
    }


def finance(e: Entity, rng: random.Random, parent: Entity | None) -> Row:
    """A finance system (partly kept by a Hong Kong team): full legal names, a fifth in
    traditional characters; tax ids; the invoice address in one string."""
    a = e.address
    if e.kind == "company":
        place = rng.choices(("front", "front_shi", "brackets", "none"), (60, 20, 10, 10))[0]
        name = sp.company_zh(e, rng, place=place, parent=parent)
    else:
        name = sp.person_zh(e, rng)
    address = sp.full_address_zh(a, rng) if rng.random() < 0.9 else ""
    if rng.random() < 0.2:
        name, address = sp.traditional(name), sp.traditional(address)
    if rng.random() < 0.1:
        address = sp.full_width(address)
    return {
        "往来单位名称": name,
        "纳税人识别号": _tax(e, rng, 0.9, 0.03),
        "地址": address,
        "电话": sp.phone(e, rng, missing=0.12, international=0.05, prefer_mobile=0.1),
        "开户银行": rng.choice(_BANKS) + sp.city_zh(a, rng) + "分行" if rng.random() < 0.7 else "",
        "银行账号": str(rng.randint(10**15, 10**19 - 1)) if rng.random() < 0.7 else "",
        "邮箱": sp.email(e, rng, missing=0.6),
    }


def shop(e: Entity, rng: random.Random, parent: Entity | None) -> Row:
    """An e-commerce shop: buyers' names as typed (short company names without the legal
    form, pinyin), mobile phones, province / city / district columns, invoice tax ids."""
    a = e.address
    if e.kind == "company":
        r = rng.random()
        if r < 0.45:
            name = sp.company_zh(
                e, rng, place=rng.choice(("front", "none")), parent=parent, legal=False
            )
        elif r < 0.85:
            name = sp.company_zh(e, rng, place="front", parent=parent)
        else:
            name = sp.company_en(e, rng, parent=parent)
    else:
        name = sp.person_zh(e, rng) if rng.random() < 0.8 else sp.person_latin(e, rng)
    if rng.random() < 0.04:
        name = sp.full_width(name)
    if rng.random() < 0.05:
        name = sp.traditional(name)
    street = sp.street_zh(a, rng, district=False) if rng.random() < 0.95 else ""
    if rng.random() < 0.1:
        street = sp.full_width(street)
    return {
        "买家名称": name,
        "联系人": _contact(e, rng),
        "手机号": sp.phone(e, rng, missing=0.05, international=0.15, prefer_mobile=0.9),
        "邮箱": sp.email(e, rng, missing=0.4),
        "省": sp.province_zh(a, rng) if rng.random() < 0.95 else "",
        "市": sp.city_zh(a, rng) if rng.random() < 0.95 else "",
        "区": a.district[0] + "区" if rng.random() < 0.9 else "",
        "详细地址": street,
        "发票税号": _tax(e, rng, 0.25, 0.03),
    }


WRITERS: dict[str, Callable[[Entity, random.Random, Entity | None], Row]] = {
    "erp": erp,
    "crm": crm,
    "finance": finance,
    "shop": shop,
}


def record_id(system: str, n: int, rng: random.Random) -> str:
    """An id as the system makes them: C000123, 0015g00000AbCdE, WL2024-00123, 8-digit."""
    if system == "erp":
        return f"C{n + 100_001:06d}"
    if system == "crm":
        tail = "".join(
            rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789")
            for _ in range(8)
        )
        return f"0015g{n:05d}{tail}"
    if system == "finance":
        return f"WL{2018 + n % 7}-{n:05d}"
    return str(30_000_000 + n * 7)
