"""The true customers behind the sample back-office systems, and how systems distort them.

Every sample ERP draws its customer master from one deterministic universe, so the same
company shows up in several systems (and twice in one) under slightly different spellings.
The universe is the ground truth that identity resolution is measured against.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, replace
from typing import Literal

# (hanzi, pinyin) pairs: city prefixes, brand words, industries
_CN_CITIES = [
    ("上海", "shanghai", "上海市", "200000"),
    ("北京", "beijing", "北京市", "100000"),
    ("深圳", "shenzhen", "广东省", "518000"),
    ("广州", "guangzhou", "广东省", "510000"),
    ("杭州", "hangzhou", "浙江省", "310000"),
    ("苏州", "suzhou", "江苏省", "215000"),
    ("南京", "nanjing", "江苏省", "210000"),
    ("宁波", "ningbo", "浙江省", "315000"),
    ("天津", "tianjin", "天津市", "300000"),
    ("成都", "chengdu", "四川省", "610000"),
    ("武汉", "wuhan", "湖北省", "430000"),
    ("青岛", "qingdao", "山东省", "266000"),
]
_CN_BRANDS = [
    ("华盛", "huasheng"),
    ("宏达", "hongda"),
    ("恒信", "hengxin"),
    ("永安", "yongan"),
    ("鑫源", "xinyuan"),
    ("东方", "dongfang"),
    ("金桥", "jinqiao"),
    ("瑞丰", "ruifeng"),
    ("长城", "changcheng"),
    ("天宇", "tianyu"),
    ("新光", "xinguang"),
    ("海川", "haichuan"),
    ("中联", "zhonglian"),
    ("正泰", "zhengtai"),
    ("博远", "boyuan"),
    ("嘉禾", "jiahe"),
    ("立信", "lixin"),
    ("明德", "mingde"),
    ("联创", "lianchuang"),
    ("宝丰", "baofeng"),
]
_CN_TRADES = [
    ("机械制造", "jx"),
    ("电子科技", "dz"),
    ("精密仪器", "yq"),
    ("化工", "hg"),
    ("贸易", "my"),
    ("物流", "wl"),
    ("五金", "wj"),
    ("塑胶制品", "sj"),
    ("纺织", "fz"),
    ("汽车配件", "qp"),
]
_CN_SURNAMES = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("欧阳", "ouyang"),
]
_CN_GIVEN = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("秀英", "xiuying"),
    ("敏", "min"),
    ("静", "jing"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("洋", "yang"),
    ("建华", "jianhua"),
    ("志明", "zhiming"),
    ("丽娟", "lijuan"),
]
_CN_STREETS = ["中山路", "人民路", "解放路", "建设路", "和平路", "长江路", "科技园路", "工业大道"]

_LATIN_COUNTRIES = {
    "DE": (
        "EUR",
        [
            ("München", "Bayern", "80331"),
            ("Hamburg", "Hamburg", "20095"),
            ("Köln", "Nordrhein-Westfalen", "50667"),
            ("Stuttgart", "Baden-Württemberg", "70173"),
        ],
        ["GmbH", "AG", "GmbH & Co. KG"],
        ["Hauptstraße", "Bahnhofstraße", "Industriestraße", "Gartenweg"],
    ),
    "US": (
        "USD",
        [
            ("Chicago", "IL", "60601"),
            ("Houston", "TX", "77002"),
            ("Columbus", "OH", "43215"),
            ("San Jose", "CA", "95113"),
        ],
        ["Inc.", "LLC", "Corp."],
        ["Main Street", "Oak Avenue", "Industrial Parkway", "Commerce Drive"],
    ),
    "GB": (
        "GBP",
        [
            ("Birmingham", "West Midlands", "B1 1AA"),
            ("Leeds", "West Yorkshire", "LS1 4DY"),
            ("Bristol", "Bristol", "BS1 4DJ"),
        ],
        ["Ltd", "PLC", "Limited"],
        ["High Street", "Station Road", "Mill Lane"],
    ),
    "FR": (
        "EUR",
        [
            ("Lyon", "Auvergne-Rhône-Alpes", "69002"),
            ("Lille", "Hauts-de-France", "59000"),
            ("Toulouse", "Occitanie", "31000"),
        ],
        ["SA", "SARL", "SAS"],
        ["Rue de la République", "Avenue Jean Jaurès", "Rue du Moulin"],
    ),
}
_LATIN_PHONES = {  # formats with a valid area code for each country's numbering plan
    "DE": "+49 {area} {number}",
    "US": "+1 {area} {number}",
    "GB": "+44 20 {number}0",
    "FR": "+33 1 {number}0",
}
_LATIN_SURNAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Taylor",
    "Martin",
    "Dubois",
    "Lefèvre",
    "García",
    "O'Brien",
    "Novák",
]
_LATIN_GIVEN = [
    "Anna",
    "Lukas",
    "Sophie",
    "Jonas",
    "Emma",
    "James",
    "Olivia",
    "Michael",
    "Chloé",
    "Léa",
    "Thomas",
    "Sarah",
    "Jürgen",
    "Zoë",
]
_LATIN_TRADES = [
    "Maschinenbau",
    "Precision Tools",
    "Components",
    "Industrial Supply",
    "Electronics",
    "Logistics",
    "Plastics",
    "Textiles",
    "Automation",
    "Metalworks",
]


@dataclass(frozen=True)
class TrueCustomer:
    """One real-world customer, as it truly is (before any system distorts it)."""

    true_id: str
    kind: Literal["company", "person"]
    name: str
    tax_id: str | None
    email: str
    phone: str
    street: str
    city: str
    region: str
    postcode: str
    country: str
    currency: str


def build(seed: int, count: int) -> list[TrueCustomer]:
    """``count`` true customers, the same for the same seed (about 60% Chinese)."""
    rng = random.Random(f"universe:{seed}")
    used: set[str] = set()
    out: list[TrueCustomer] = []
    while len(out) < count:
        chinese = rng.random() < 0.6
        company = rng.random() < 0.78
        make = _chinese if chinese else _latin
        customer = make(rng, f"T{len(out) + 1:07d}", company)
        if customer.name in used:  # real-world names are unique enough for a demo
            continue
        used.add(customer.name)
        out.append(customer)
    return out


def _chinese(rng: random.Random, true_id: str, company: bool) -> TrueCustomer:
    city, _city_py, region, zip_base = rng.choice(_CN_CITIES)
    if company:
        brand, brand_py = rng.choice(_CN_BRANDS)
        brand2, brand2_py = rng.choice(_CN_BRANDS)
        trade, trade_py = rng.choice(_CN_TRADES)
        name = f"{city}{brand}{brand2 if rng.random() < 0.5 else ''}{trade}有限公司"
        handle = f"{brand_py}{brand2_py if brand2 in name[2:] else ''}-{trade_py}"
        email = f"{rng.choice(['sales', 'info', 'caiwu', 'purchase'])}@{handle}.cn"
        tax_id = _uscc(rng)
    else:
        surname, surname_py = rng.choice(_CN_SURNAMES)
        given, given_py = rng.choice(_CN_GIVEN)
        name = f"{surname}{given}"
        domain = rng.choice(["qq.com", "163.com"])
        email = f"{given_py}.{surname_py}{rng.randint(1, 999)}@{domain}"
        tax_id = None
    prefix = rng.choice(["138", "139", "186", "21", "755", "10"])
    phone = f"+86 {prefix} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    street = f"{rng.choice(_CN_STREETS)}{rng.randint(1, 999)}号"
    postcode = f"{zip_base[:3]}{rng.randint(0, 999):03d}"
    return TrueCustomer(
        true_id,
        "company" if company else "person",
        name,
        tax_id,
        email,
        phone,
        street,
        f"{city}市",
        region,
        postcode,
        "CN",
        "CNY",
    )


def _latin(rng: random.Random, true_id: str, company: bool) -> TrueCustomer:
    country = rng.choice(sorted(_LATIN_COUNTRIES))
    currency, cities, forms, streets = _LATIN_COUNTRIES[country]
    city, region, postcode = rng.choice(cities)
    surname = rng.choice(_LATIN_SURNAMES)
    if company:
        name = f"{surname} {rng.choice(_LATIN_TRADES)} {rng.choice(forms)}"
        domain = _ascii(surname).lower().replace("'", "")
        email = f"{rng.choice(['info', 'orders', 'accounts'])}@{domain}-{rng.randint(1, 99)}.com"
        tax_id = f"{country}{rng.randint(100_000_000, 999_999_999)}"
    else:
        given = rng.choice(_LATIN_GIVEN)
        name = f"{given} {surname}"
        email = f"{_ascii(given).lower()}.{_ascii(surname).lower().replace(chr(39), '')}@mail.com"
        tax_id = None
    phone = _LATIN_PHONES[country].format(
        area=rng.randint(201, 989), number=rng.randint(1_000_000, 9_999_999)
    )
    street = f"{rng.choice(streets)} {rng.randint(1, 250)}"
    return TrueCustomer(
        true_id,
        "company" if company else "person",
        name,
        tax_id,
        email,
        phone,
        street,
        city,
        region,
        postcode,
        country,
        currency,
    )


def _uscc(rng: random.Random) -> str:
    """A Chinese unified social credit code shape (18 characters)."""
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    check = rng.choice("0123456789X")
    return f"91{rng.randint(110000, 659999)}{body}{check}{rng.randint(0, 9)}"[:18]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def variant(customer: TrueCustomer, rng: random.Random) -> TrueCustomer:
    """The same customer as another clerk typed it: the distortions real masters carry."""
    name, email, phone, tax_id = customer.name, customer.email, customer.phone, customer.tax_id
    if customer.country == "CN":
        edits = [
            lambda n: n.replace("有限公司", "有限责任公司"),
            lambda n: n.removeprefix(customer.city.removesuffix("市")),
            lambda n: n.replace("有限公司", "(有限公司)"),
            lambda n: f"{n} ",
        ]
    else:
        edits = [
            lambda n: n.upper(),
            lambda n: _ascii(n),
            lambda n: n.replace(" Inc.", " Incorporated").replace(" Ltd", " Limited"),
            lambda n: n.replace("GmbH", "G.m.b.H.").replace("Corp.", "Corporation"),
            lambda n: n.replace(" ", "  ", 1),
        ]
    name = rng.choice(edits)(name).strip() or customer.name
    if rng.random() < 0.5:
        phone = phone.replace(" ", "")
    if rng.random() < 0.3:
        email = email.upper()
    if rng.random() < 0.4:
        tax_id = None
    return replace(customer, name=name, email=email, phone=phone, tax_id=tax_id)
