"""Phone numbers in E.164 (``+8613812345678``), read with ``phonenumbers`` in the
record's own region: ``138-1234-5678`` in CN, ``(312) 555-0123`` in US and
``+86 138 1234 5678`` all come out in one form.

A record's region is its country column, else the default region the user gave
(``--country``), else what the record says (:func:`infer_region`: Chinese script,
place names, the shape of the number), else the region most records of its file
have. The national significant number (``13812345678``) is a second key, for numbers
whose region stays unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm_core.identity.company_names import country_code, han_places, latin_places, place_region
from crm_core.identity.text import fold, has_han, nfkc

_SEPARATORS = re.compile(r"[\s\-./()]")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_EXTENSION = re.compile(r"(?:ext\.?|x|#|分机|转)\s*\d+\s*$", re.IGNORECASE)
#: national numbers shorter than this are too short to identify anyone across regions
MIN_NATIONAL = 7
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_CN_MOBILE_WITH_CODE = re.compile(r"^861[3-9]\d{9}$")


@dataclass(frozen=True)
class PhoneKeys:
    """A phone number as E.164 (or its digits when it does not parse) and as its
    national significant number."""

    phone: str | None
    national: str | None


def normalise_phone(raw: str | None, country: str | None = None) -> str | None:
    """E.164 when the number parses (``country`` is the default region for numbers
    without a country code); else its digits when there are at least 6 of them; else
    None. Extensions are dropped; numbers of one repeated digit are placeholders, and
    more than 20 digits are no phone number (None).
    """
    return phone_keys(raw, country).phone


def phone_keys(raw: str | None, country: str | None = None) -> PhoneKeys:
    """:func:`normalise_phone` and the national significant number (``+86 133 0340
    7626``, ``133-0340-7626`` and ``8613303407626`` in CN: ``13303407626``)."""
    import phonenumbers

    if not raw:
        return PhoneKeys(None, None)
    text = _EXTENSION.sub("", nfkc(raw)).strip()
    digits = re.sub(r"\D", "", text)
    if not 6 <= len(digits) <= 20 or len(set(digits)) == 1:
        return PhoneKeys(None, None)
    if text.startswith("00"):
        text = "+" + text[2:]
    compact = _SEPARATORS.sub("", text)
    international = _E164.match(compact) is not None and "(0)" not in text
    region = (country or "").strip().upper() or None
    try:
        number = phonenumbers.parse(text, region if region and len(region) == 2 else None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        if international:  # kept as typed
            return PhoneKeys(compact, None)
        return PhoneKeys(digits, _national(digits.lstrip("0")))
    if international:
        return PhoneKeys(compact, _national(str(number.national_number)))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return PhoneKeys(e164, _national(str(number.national_number)))


def _national(digits: str) -> str | None:
    return digits if len(digits) >= MIN_NATIONAL else None


def infer_region(
    phone: str | None,
    name: str | None = None,
    street: str | None = None,
    city: str | None = None,
    region: str | None = None,
) -> str | None:
    """The phone region a record's own words suggest, or None.

    A number with ``+`` or ``00`` needs none (None); 11 digits starting 13-19 are a
    Chinese mobile number and 86 + such a number one with its country code (CN);
    Chinese script in the name or address means CN, unless a place of Hong Kong, Macau
    or Taiwan is named (``香港``, ``台北``: HK, TW); a Chinese place in pinyin in the city
    or region (``Hangzhou``) means CN, ``Hong Kong`` or ``Taipei`` HK or TW.
    """
    text = nfkc(phone or "").strip()
    if text.startswith(("+", "00")):
        return None
    digits = re.sub(r"\D", "", text)
    if _CN_MOBILE.match(digits) or _CN_MOBILE_WITH_CODE.match(digits):
        return "CN"
    words = [w for w in (city, region, street, name) if w and w.strip()]
    han = [nfkc(w) for w in words if has_han(w)]
    if han:
        from crm_core.identity.chinese import to_simplified

        joined = to_simplified("".join(han))
        for place in han_places():
            found = place_region(place)
            if found and place in joined:
                return found
        return "CN"
    for value in (city, region):
        key = tuple(fold(value).split())
        if key and key in latin_places():
            return place_region(" ".join(key)) or "CN"
    return None


def record_region(country: str | None, default: str | None) -> str | None:
    """The region a record's country column names, else ``default``."""
    return country_code(country) or default


def lookup_keys(raw: str | None, region: str, country: str | None = None) -> tuple[str, ...]:
    """The keys a number is found by in the phone index: its E.164 form and its national
    significant number (``+8613812345678``, ``13812345678``), or () when it is no phone
    number. Read as a phone system or a person writes it: full-width forms, separators,
    a trunk prefix (``0755 ...``), an international prefix (``0086 ...``) and an
    extension (``ext. 12``, ``#12``, ``转 8``) are all fine. A number without a country
    code is read in ``country`` (the record's), else in ``region``."""
    import phonenumbers

    if not raw:
        return ()
    text = _EXTENSION.sub("", nfkc(raw)).strip()
    digits = re.sub(r"\D", "", text)
    if not 6 <= len(digits) <= 20 or len(set(digits)) == 1:
        return ()
    home = (country or "").strip().upper()
    home = home if len(home) == 2 and home.isalpha() else region
    try:
        number = phonenumbers.parse(text, home)
    except phonenumbers.NumberParseException:
        return ()
    if not phonenumbers.is_possible_number(number):
        return ()
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return (e164, phonenumbers.national_significant_number(number))
