"""Phone numbers in E.164 (``+8613812345678``), read with ``phonenumbers`` in the
record's own country: ``138-1234-5678`` in CN, ``(312) 555-0123`` in US and
``+86 138 1234 5678`` all come out in one form.
"""

from __future__ import annotations

import re

from crm_core.identity.text import nfkc

_SEPARATORS = re.compile(r"[\s\-./()]")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_EXTENSION = re.compile(r"(?:ext\.?|x|#|分机|转)\s*\d+\s*$", re.IGNORECASE)


def normalise_phone(raw: str | None, country: str | None = None) -> str | None:
    """E.164 when the number parses (``country`` is the default region for numbers
    without a country code); else its digits when there are at least 6 of them; else
    None. Extensions are dropped; numbers of one repeated digit are placeholders, and
    more than 20 digits are no phone number (None).
    """
    import phonenumbers

    if not raw:
        return None
    text = _EXTENSION.sub("", nfkc(raw)).strip()
    digits = re.sub(r"\D", "", text)
    if not 6 <= len(digits) <= 20 or len(set(digits)) == 1:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    compact = _SEPARATORS.sub("", text)
    if _E164.match(compact) and "(0)" not in text:  # international already
        return compact
    region = (country or "").strip().upper() or None
    try:
        number = phonenumbers.parse(text, region if region and len(region) == 2 else None)
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_possible_number(number):
        return digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_keys(raw: str | None, region: str, country: str | None = None) -> tuple[str, ...]:
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
