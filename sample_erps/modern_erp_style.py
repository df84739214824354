"""How the sample modern ERP's users enter a customer: the distortions of this system.

The same true customer looks different here than in the legacy ERP: a Hong Kong or Taipei
office keyed some Chinese names in traditional characters (converted with OpenCC, the
reference converter), phones are written ``(+86) 138-1234-5678`` and sometimes typed with a
Chinese input method in full-width forms (``（＋８６）１３８－…``), city names drop the
``市`` suffix, e-mail addresses are kept in lower case, Latin legal forms lose their dots,
and the tax id is left empty for about a third of the customers.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from functools import cache
from typing import Any

from sample_erps.universe import TrueCustomer

TRADITIONAL_SHARE = 0.2
FULL_WIDTH_SHARE = 0.12
MISSING_TAX_ID_SHARE = 0.33
#: ASCII characters of a phone number and their full-width forms (U+FF01...).
FULL_WIDTH = str.maketrans(
    {**{str(d): chr(0xFF10 + d) for d in range(10)}, "+": "＋", "(": "（", ")": "）", "-": "－"}
    | {" ": "\u3000"}
)
LEGAL_FORMS = {" Inc.": " Inc", " Corp.": " Corp", " Co. KG": " Co KG"}


@cache
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("s2t")


def traditional(text: str) -> str:
    """Simplified Chinese text in traditional characters (OpenCC ``s2t``)."""
    return str(_converter().convert(text))


def phone_style(phone: str) -> str:
    """``+86 138 1234 5678`` as this ERP writes it: ``(+86) 138-1234-5678``."""
    parts = phone.replace("(", "").replace(")", "").split()
    if len(parts) < 2 or not parts[0].startswith("+"):
        return phone
    return f"({parts[0]}) {'-'.join(parts[1:])}"


def full_width(text: str) -> str:
    """Digits and phone punctuation as a Chinese input method types them (full width)."""
    return text.translate(FULL_WIDTH)


def as_entered(customer: TrueCustomer, rng: random.Random) -> TrueCustomer:
    """The customer as this ERP holds it (see the module docstring)."""
    chinese = customer.country == "CN"
    c = customer
    if chinese:
        c = replace(c, city=re.sub(r"市$", "", c.city))
        if rng.random() < TRADITIONAL_SHARE:  # keyed in by the Hong Kong or Taipei office
            c = replace(
                c,
                name=traditional(c.name),
                street=traditional(c.street),
                city=traditional(c.city),
                region=traditional(c.region),
            )
    else:
        name = c.name
        for dotted, plain in LEGAL_FORMS.items():
            name = name.replace(dotted, plain)
        c = replace(c, name=name)
    phone = phone_style(c.phone)
    if chinese and rng.random() < FULL_WIDTH_SHARE:
        phone = full_width(phone)
    tax_id = None if rng.random() < MISSING_TAX_ID_SHARE else c.tax_id
    return replace(c, phone=phone, tax_id=tax_id, email=c.email.lower())
