"""The true customers of the unseen set: companies (some in groups sharing a brand across
cities, some sharing a building or a switchboard) and persons (some namesakes)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bench.unseen_cjk.vocab import (
    BRAND_CHARS,
    BUILDINGS,
    CITIES,
    GIVEN_CHARS,
    INDUSTRIES,
    STREETS,
    SURNAMES,
    City,
    pairs,
)

_BRAND = pairs(BRAND_CHARS)
_SURNAME = pairs(SURNAMES)
_GIVEN = pairs(GIVEN_CHARS)
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MOBILE_PREFIXES = ("133", "135", "136", "138", "139", "150", "152", "158", "177", "186", "189")


@dataclass(frozen=True)
class Address:
    """Where a customer is: city, district, street, number, and a room in a building."""

    city: City
    district: tuple[str, str]
    street: tuple[str, str, str]
    number: int
    building: tuple[str, str] | None = None
    floor: int = 0
    room: int = 0
    postcode: str = ""


@dataclass
class Entity:
    """One true customer."""

    entity_id: str
    kind: str  # "company" or "person"
    address: Address
    #: company: brand characters with pinyin, industry index, legal form, group, branch
    brand: tuple[tuple[str, str], ...] = ()
    industry: int = 0
    legal_form: str = ""
    group: str | None = None
    branch_of: str | None = None
    tax_id: str | None = None
    switchboard: tuple[str, str] | None = None  # (area code, local number)
    #: person (or a company's contact): surname and given name characters with pinyin
    surname: tuple[str, str] = ("", "")
    given: tuple[tuple[str, str], ...] = ()
    mobile: str | None = None
    email_locals: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def city(self) -> City:
        """The city the customer is in."""
        return self.address.city


def uscc(rng: random.Random, city: City) -> str:
    """A unified social credit code (GB 32100-2015) with a valid check character."""
    body = "91" + city.post[:2] + f"{rng.randint(0, 9999):04d}"
    body += "".join(rng.choice(_USCC_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARS[(31 - total % 31) % 31]


def _mobile(rng: random.Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"


def _landline(rng: random.Random, city: City) -> tuple[str, str]:
    digits = 8 if len(city.area) == 3 else rng.choice((7, 8))
    first = str(rng.randint(2, 8))
    return city.area, first + "".join(str(rng.randint(0, 9)) for _ in range(digits - 1))


def _address(rng: random.Random, city: City, building: tuple[str, str] | None = None) -> Address:
    floor = rng.randint(2, 30) if building else 0
    return Address(
        city=city,
        district=rng.choice(city.districts),
        street=rng.choice(STREETS),
        number=rng.randint(1, 899),
        building=building,
        floor=floor,
        room=floor * 100 + rng.randint(1, 20) if building else 0,
        postcode=city.post + f"{rng.randint(0, 999):03d}",
    )


def _brand(rng: random.Random) -> tuple[tuple[str, str], ...]:
    first, second = rng.sample(_BRAND, 2)
    return (first, second)


def _person_name(rng: random.Random) -> tuple[tuple[str, str], tuple[tuple[str, str], ...]]:
    surname = rng.choice(_SURNAME)
    given = tuple(rng.sample(_GIVEN, 1 if rng.random() < 0.25 else 2))
    return surname, given


def build(n: int, rng: random.Random, company_share: float = 0.7) -> list[Entity]:
    """``n`` true customers, about ``company_share`` of them companies.

    Hard negatives are made on purpose: groups of 2-3 companies with one brand and industry
    in different cities (half of the groups share a switchboard number, all share an e-mail
    domain; some have a group parent and branches), companies in shared office buildings,
    and persons who are namesakes of another person in another city.
    """
    entities: list[Entity] = []
    shared_buildings: list[Address] = []
    while len(entities) < n:
        start = len(entities)
        if rng.random() < company_share:
            entities.extend(_company_or_group(start, rng, n - start, shared_buildings))
        else:
            entities.append(_person(f"E{start:05d}", rng, entities))
    return entities


def _new_company(
    eid: str,
    rng: random.Random,
    city: City,
    brand: tuple[tuple[str, str], ...],
    industry: int,
    shared_buildings: list[Address],
) -> Entity:
    if shared_buildings and rng.random() < 0.12:
        candidates = [a for a in shared_buildings if a.city == city]
        base = rng.choice(candidates) if candidates else None
    else:
        base = None
    if base is not None:
        address = Address(
            city=city,
            district=base.district,
            street=base.street,
            number=base.number,
            building=base.building,
            floor=(floor := rng.randint(2, 30)),
            room=floor * 100 + rng.randint(1, 20),
            postcode=base.postcode,
        )
    else:
        building = rng.choice(BUILDINGS) if rng.random() < 0.3 else None
        address = _address(rng, city, building)
        if building:
            shared_buildings.append(address)
    surname, given = _person_name(rng)
    brand_py = "".join(p for _, p in brand)
    tld = rng.choice((".com", ".com.cn", ".cn", ".net"))
    domains = [brand_py + tld]
    if rng.random() < 0.35:  # a second domain for the same company
        alias = rng.choice(
            (
                brand_py + INDUSTRIES[industry][1].split()[0].lower() + ".com",
                "".join(p[0] for _, p in brand)
                + "-"
                + city.city_py.lower().replace("'", "")
                + ".com",
                brand_py + (".cn" if tld != ".cn" else ".com"),
            )
        )
        domains.append(alias)
    return Entity(
        entity_id=eid,
        kind="company",
        address=address,
        brand=brand,
        industry=industry,
        legal_form=rng.choices(("有限公司", "有限责任公司", "股份有限公司"), weights=(70, 18, 12))[
            0
        ],
        tax_id=uscc(rng, city),
        switchboard=_landline(rng, city),
        surname=surname,
        given=given,
        mobile=_mobile(rng) if rng.random() < 0.6 else None,
        email_locals=(
            *rng.sample(("info", "sales", "service", "finance", "admin", "contact"), 2),
            surname[1] + "".join(p for _, p in given),
        ),
        email_domains=tuple(domains),
    )


def _company_or_group(
    start: int, rng: random.Random, room: int, shared_buildings: list[Address]
) -> list[Entity]:
    brand = _brand(rng)
    industry = rng.randrange(len(INDUSTRIES))
    if room < 3 or rng.random() >= 0.08:
        return [
            _new_company(
                f"E{start:05d}", rng, rng.choice(CITIES), brand, industry, shared_buildings
            )
        ]
    size = rng.choice((2, 2, 3))
    cities = rng.sample(CITIES, size)
    group = f"G{start:05d}"
    members = [
        _new_company(f"E{start + i:05d}", rng, c, brand, industry, shared_buildings)
        for i, c in enumerate(cities)
    ]
    shared_phone = rng.random() < 0.5
    for m in members:
        m.group = group
        m.email_domains = members[0].email_domains
        if shared_phone:
            m.switchboard = members[0].switchboard
    if rng.random() < 0.35:  # a group parent whose members are its branches
        members[0].legal_form = "集团有限公司"
        for m in members[1:]:
            m.branch_of = members[0].entity_id
    return members


def _person(eid: str, rng: random.Random, entities: list[Entity]) -> Entity:
    city = rng.choice(CITIES)
    earlier = [e for e in entities[-200:] if e.kind == "person" and e.city != city]
    if earlier and rng.random() < 0.08:  # a namesake of someone elsewhere
        surname, given = earlier[-1].surname, earlier[-1].given
    else:
        surname, given = _person_name(rng)
    py = surname[1] + "".join(p for _, p in given)
    local = rng.choice(
        (
            py,
            py + str(rng.randint(1, 99)),
            "".join(p for _, p in given) + "." + surname[1],
            surname[1] + "_" + "".join(p[0] for _, p in given) + str(rng.randint(60, 99)),
            str(rng.randint(10_000_000, 3_999_999_999)),
        )
    )
    domain = rng.choice(("qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com"))
    if local.isdigit():
        domain = "qq.com"
    return Entity(
        entity_id=eid,
        kind="person",
        address=_address(rng, city),
        surname=surname,
        given=given,
        mobile=_mobile(rng),
        email_locals=(local,),
        email_domains=(domain,),
    )
