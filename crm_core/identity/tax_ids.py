"""Tax ids and business registration numbers (VAT ids, EINs, China's unified social
credit codes) in one form: upper case, letters and digits only, without the country
prefix a VAT id may carry (``DE 123.456.789`` and ``123456789`` in DE agree)."""

from __future__ import annotations

import re

from crm_core.identity.text import nfkc


def normalise_tax_id(raw: str | None, country: str | None = None) -> str | None:
    """The id in one form, or None when it has fewer than 5 or more than 40 characters
    or repeats one character (``000000000`` is a placeholder, not an id)."""
    if not raw:
        return None
    text = re.sub(r"[^0-9A-Z]", "", nfkc(raw).upper())
    prefix = (country or "").strip().upper()
    if len(prefix) == 2 and text.startswith(prefix) and text[2:3].isdigit() and len(text) > 8:
        text = text[2:]
    if not 5 <= len(text) <= 40 or len(set(text)) == 1:
        return None
    return text
