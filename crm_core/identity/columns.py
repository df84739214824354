"""Which column of a file of customer-like records holds what: recognised by its name
(``given_name``, ``First Name``, ``suburb``, ``zip``, ``E-Mail``...), or named outright
with ``ROLE=COLUMN``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

#: role -> header names that mean it (compared lower case, letters and digits only)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "customername", "customer", "personname", "contactname"),
    "company": (
        "company",
        "companyname",
        "organisation",
        "organization",
        "organisationname",
        "organizationname",
        "businessname",
        "firm",
        "accountname",
        "legalname",
    ),
    "given_name": ("givenname", "firstname", "forename", "first", "vorname", "prenom"),
    "surname": ("surname", "lastname", "familyname", "last", "nachname", "nom"),
    "kind": ("kind", "customertype", "entitytype", "partytype"),
    "tax_id": (
        "taxid",
        "taxnumber",
        "taxno",
        "vat",
        "vatid",
        "vatnumber",
        "vatno",
        "tin",
        "ein",
        "uscc",
        "businessregistrationnumber",
        "registrationnumber",
        "companynumber",
    ),
    "email": ("email", "emailaddress", "mail", "emails"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "phoneno"),
    "street_number": ("streetnumber", "housenumber", "streetno", "houseno", "number"),
    "street": (
        "street",
        "address",
        "address1",
        "addressline1",
        "streetaddress",
        "line1",
        "addr1",
        "streetname",
    ),
    "street2": ("address2", "addressline2", "line2", "addr2", "street2"),
    "city": ("city", "suburb", "town", "locality", "ort", "ville"),
    "postcode": ("postcode", "postalcode", "zip", "zipcode", "plz", "postcodezip"),
    "region": ("state", "region", "province", "county", "stateprovince"),
    "country": ("country", "countrycode", "land"),
    "date_of_birth": ("dateofbirth", "dob", "birthdate", "birthday", "born"),
}
ROLES = tuple(SYNONYMS)


def _plain(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.strip().lower())


def recognise(headers: Iterable[str], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """role -> column for the ``headers`` of one file; ``overrides`` (role -> column)
    win. Raises ``ValueError`` naming an unknown role or a column the file lacks."""
    headers = list(headers)
    overrides = dict(overrides or {})
    for role, column in overrides.items():
        if role not in SYNONYMS:
            raise ValueError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
        if column not in headers:
            raise ValueError(
                f"--column {role}={column}: no column {column!r}; columns are: "
                + ", ".join(headers)
            )
    taken = set(overrides.values())
    out = dict(overrides)
    by_plain: dict[str, str] = {}
    for header in headers:
        by_plain.setdefault(_plain(header), header)
    for role, names in SYNONYMS.items():
        if role in out:
            continue
        for name in names:
            found = by_plain.get(name)
            if found is not None and found not in taken:
                out[role] = found
                taken.add(found)
                break
    return out


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["surname=last", "city=suburb"]`` -> ``{"surname": "last", "city": "suburb"}``."""
    out: dict[str, str] = {}
    for item in items:
        role, sep, column = item.partition("=")
        if not sep or not role.strip() or not column.strip():
            raise ValueError(f"--column {item!r}: expected ROLE=COLUMN, e.g. surname=last_name")
        out[role.strip()] = column.strip()
    return out
