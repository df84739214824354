"""E-mail addresses in one form: lower case, no display name, no ``+tag``, and Gmail's
dots removed (``John.Doe+crm@GoogleMail.com`` -> ``johndoe@gmail.com``)."""

from __future__ import annotations

import re

from crm_core.identity.text import nfkc

_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_GMAIL = {"gmail.com", "googlemail.com"}


def normalise_email(raw: str | None) -> str | None:
    """The address in one form, or None when it is not shaped like an address."""
    if not raw:
        return None
    text = nfkc(raw).strip().lower()
    if "<" in text and ">" in text:  # "Ada Lovelace <ada@example.com>"
        text = text[text.rindex("<") + 1 : text.rindex(">")]
    text = text.removeprefix("mailto:").strip().strip(".;,")
    if not _SHAPE.match(text):
        return None
    local, domain = text.rsplit("@", 1)
    local = local.split("+", 1)[0] or local
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else None
