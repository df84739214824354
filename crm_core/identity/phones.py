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
