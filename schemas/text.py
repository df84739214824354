"""Text a person typed, checked before the hub stores it: no control characters.

A control character (C0, U+0000-U+001F, and DEL) in a name, a phone number or a key is
never meant, and some stores refuse it (PostgreSQL cannot keep U+0000 in text at all), so
a value carrying one would fail later, far from where it came in. Free text (a reason, a
note) may hold tabs and line breaks; nothing else may hold any control character.
"""

from __future__ import annotations

import re

_ANY = re.compile(r"[\x00-\x1f\x7f]")
_FREE_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def control_character(value: str, *, free_text: bool = False) -> str | None:
    """Why ``value`` is refused (the first control character and where it is), or None
    when it has none; ``free_text`` allows tab and line feed."""
    found = (_FREE_TEXT if free_text else _ANY).search(value)
    if found is None:
        return None
    allowed = " (only tab and line breaks are allowed here)" if free_text else ""
    return (
        f"contains the control character U+{ord(found.group()):04X} at position "
        f"{found.start() + 1}{allowed}"
    )
