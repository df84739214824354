"""Secrets in text: which names hold one, and masking them in whatever the hub prints or stores.

A secret reaches text in three shapes: the password of a URL (``scheme://user:pw@host``), a
query parameter (``?password=...``, ``&api_key=...``) and a keyword of a connection string
(``PWD=...;`` in ODBC, ``password=...`` in libpq), URL-encoded too when a connection string
travels inside a URL (``odbc_connect=...%3BPWD%3D...``). ``mask_secrets`` masks all three;
the hub applies it where an error becomes text: when a run's error is recorded or read from
the ledger, and when the command line or the API prints one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
#: Names that hold a secret whatever their case (``PWD``, ``Password``, ``key``).
SECRET_NAMES = frozenset(
    {"key", "pass", "pwd", "passwd", "password", "secret", "token", "authorization"}
)
#: Endings of names that hold one: ``sslpassword``, ``client_secret``, ``access_token``,
#: ``api_key``, ``x-api-key``, ``apikey``.
SECRET_ENDINGS = ("password", "passwd", "pwd", "secret", "token", "_key", "apikey")

_NAME = r"[A-Za-z][A-Za-z0-9_.-]*"
#: ``scheme://user:password@``: everything between the colon and the last ``@`` before
#: the host (a password may hold ``@`` if it is not encoded)
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):[^\s/]*@")
#: ``name=value`` after the start, ``?``, ``&``, ``;``, a blank or an opening bracket; the
#: value braced (ODBC), already masked, or up to the next separator
_PAIR = re.compile(
    rf"(?P<head>(?:^|(?<=[?&;\s(,\"']))\s*(?P<name>{_NAME})\s*=\s*)"
    r"(?P<value>\{(?:[^}]|\}\})*\}?|\*\*\*|[^&;#\s'\"]*)"
)
#: the same, URL-encoded (``%3B`` for ``;``, ``%3D`` for ``=``, ``%26`` for ``&``)
_ENCODED_PAIR = re.compile(
    rf"(?P<head>(?:%3B|%26|[?&=])(?:%20|\+)*(?P<name>{_NAME})(?:%20|\+)*%3D)"
    r"(?P<value>(?:(?!%3B|%26)[^&;#\s'\"])*)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Whether a parameter or keyword of that name holds a secret (case-insensitive)."""
    low = name.strip().lower().replace("-", "_")
    return low in SECRET_NAMES or low.endswith(SECRET_ENDINGS)


def secret_names_in(text: str) -> list[str]:
    """The secret-holding names given a value in ``text`` (query parameters, connection
    string keywords, encoded or not), in order; ``user:pw@`` is ``password``."""
    found = ["password"] if _USERINFO.search(text) else []
    for pattern in (_PAIR, _ENCODED_PAIR):
        for m in pattern.finditer(text):
            if is_secret_name(m["name"]) and m["value"] not in ("", "{}"):
                found.append(m["name"])
    return list(dict.fromkeys(found))


def secrets_in_options(options: Mapping[str, Any], where: str = "options") -> list[str]:
    """Where a source's ``options`` (nested mappings and lists) hold a secret: a key named
    like one with a value (``PWD: x``, ``api_key: x``; names ending in ``_env`` name an
    environment variable and are fine), or a text with a secret in it (``?token=x``)."""
    found: list[str] = []
    for key, value in options.items():
        at = f"{where}.{key}"
        if isinstance(value, Mapping):
            found += secrets_in_options(value, at)
        elif isinstance(value, list | tuple):
            found += secrets_in_options({str(i): v for i, v in enumerate(value)}, at)
        elif (value not in (None, "") and is_secret_name(str(key))) or (
            isinstance(value, str) and secret_names_in(value)
        ):
            found.append(at)
    return found


def _mask_pair(m: re.Match[str]) -> str:
    if not is_secret_name(m["name"]) or m["value"] in ("", MASK):
        return m[0]
    return f"{m['head']}{MASK}"


def mask_secrets(text: str) -> str:
    """``text`` with every secret it shows masked (see the module docstring)."""
    if not text:
        return text
    text = _USERINFO.sub(rf"\g<head>:{MASK}@", text)
    if "=" in text:
        text = _PAIR.sub(_mask_pair, text)
    if "%3d" in text.lower():
        text = _ENCODED_PAIR.sub(_mask_pair, text)
    return text
