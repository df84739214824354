"""Script-neutral text folding: what every normaliser does first.

NFKC turns full-width forms into half-width ones (``ＡＢＣ１２３`` -> ``ABC123``) and
compatibility characters into plain ones; case is folded (``ß`` -> ``ss``); accents on
Latin, Greek and Cyrillic letters are dropped (marks on other scripts are kept, since
there they are part of the letter); symbols, emoji and punctuation become spaces.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

#: Normalised values are cut at this length: a 10,000-character "name" is not a name,
#: and string distances on it would cost quadratic time.
MAX_LENGTH = 200

_SPACES = re.compile(r"\s+")
_DROPPED = frozenset(".'’`´")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
# combining marks are dropped only after letters of these scripts (Latin to Cyrillic)
_ACCENTED_SCRIPTS_END = 0x0530


def is_blank(value: str | None) -> bool:
    """True for None, the empty string and whitespace only (full-width spaces included)."""
    return value is None or not unicodedata.normalize("NFKC", value).strip()


def has_han(text: str) -> bool:
    """Whether ``text`` holds at least one Chinese (Han) character."""
    return _HAN.search(text) is not None


def is_han(char: str) -> bool:
    """Whether one character is a Chinese (Han) character."""
    return _HAN.fullmatch(char) is not None


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width letters, digits and punctuation become half-width."""
    return unicodedata.normalize("NFKC", text)


def strip_accents(text: str) -> str:
    """``Müller Chloé`` -> ``Muller Chloe``; marks of non-Latin scripts stay."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    if decomposed == text and not any(unicodedata.category(c) == "Mn" for c in text):
        return unicodedata.normalize("NFC", text)  # no mark to drop (Chinese, say)
    out: list[str] = []
    previous = ""
    for char in decomposed:
        if (
            unicodedata.category(char) == "Mn"
            and previous
            and ord(previous) < _ACCENTED_SCRIPTS_END
        ):
            continue
        out.append(char)
        if unicodedata.category(char) != "Mn":
            previous = char
    return unicodedata.normalize("NFC", "".join(out))


def fold(text: str | None, *, keep: str = "") -> str:
    """NFKC, case folded, accents dropped, punctuation and symbols as spaces, one space
    between words, at most :data:`MAX_LENGTH` characters. ``keep`` lists punctuation to keep.

    Dots and apostrophes are removed rather than spaced, so that ``G.m.b.H.`` reads
    ``gmbh``, ``Co.`` reads ``co`` and ``O'Brien`` reads ``obrien``.
    """
    if text is None:
        return ""
    if text.isascii():  # most values: one table lookup per character, same result
        folded = text.casefold().translate(_ascii_table(keep))
        return _SPACES.sub(" ", folded).strip()[:MAX_LENGTH].strip()
    text = strip_accents(nfkc(text).casefold())
    chars: list[str] = []
    for char in text:
        if char in _DROPPED and char not in keep:
            continue
        if char in keep or char.isalnum() or unicodedata.category(char).startswith("M"):
            chars.append(char)
        else:
            chars.append(" ")
    return _SPACES.sub(" ", "".join(chars)).strip()[:MAX_LENGTH].strip()


@cache
def _ascii_table(keep: str) -> dict[int, str]:
    """What :func:`fold` makes of each ASCII character (case already folded)."""
    table: dict[int, str] = {}
    for code in range(128):
        char = chr(code)
        if char in keep or char.isalnum():
            table[code] = char
        elif char in _DROPPED:
            table[code] = ""
        else:
            table[code] = " "
    return table
