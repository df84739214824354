"""IBM Db2 driver errors (``SQLnnnnN`` messages of the CLI driver) as one clear line.

The CLI driver's messages are long and say neither the port nor, for SQL30081N, what the
TCP/IP error code means; these lines name host, port, database and user instead, and never
the password.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_PORT = 50000
SQLCODE = re.compile(r"\b(SQL\d{4,5}N)\b")
TCP_ERRORS = {
    "111": "connection refused (is Db2 listening on that port?)",
    "110": "connection timed out",
    "113": "no route to host",
    "104": "connection reset by the server",
    "32": "connection broken",
    "115": "connection timed out",
}
LOGIN_REASONS = {
    "1": "password expired",
    "17": "security mechanism not supported",
    "24": "user name or password invalid",
    "36": "user ID disabled or restricted",
}


def explain(exc: BaseException, url: str) -> str | None:
    """A one-line message for a Db2 driver error, or None if it is not one."""
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())
    found = SQLCODE.search(text)
    if not found:
        return None
    code = found.group(1)
    where = _server(url)
    if code == "SQL30081N":
        tcp = re.search(r'error code\(s\): "(\d+)"', text)
        number = tcp.group(1) if tcp else "?"
        why = TCP_ERRORS.get(number, f"communication error, TCP/IP code {number}")
        return f"cannot reach the Db2 server at {where.address}: {why} ({code})"
    if code == "SQL30082N":
        reason = re.search(r'reason (?:code )?"?(\d+)', text)
        number = reason.group(1) if reason else "?"
        why = LOGIN_REASONS.get(number, f"reason {number}")
        if not where.has_password:
            why += "; the URL has no password (keep the whole URL in the variable url_env names)"
        return (
            f"login to the Db2 server at {where.address} as {where.user!r} failed: {why} ({code})"
        )
    if code in {"SQL1013N", "SQL30061N"}:
        return f"the Db2 server at {where.address} has no database {where.database!r} ({code})"
    return f"{_message(text, code)} ({code})"


class _Server:
    def __init__(
        self, host: str, port: int, database: str, user: str, has_password: bool = True
    ) -> None:
        self.address = f"{host}:{port}"
        self.database = database
        self.user = user
        self.has_password = has_password


def _server(url: str) -> _Server:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return _Server("?", DEFAULT_PORT, "?", "?")
    return _Server(
        parsed.host or "localhost",
        parsed.port or DEFAULT_PORT,
        parsed.database or "?",
        parsed.username or "?",
        bool(parsed.password),
    )


def _message(text: str, code: str) -> str:
    """The driver's sentence after the code, without the bracketed driver prefixes."""
    rest = text.split(code, 1)[1].strip()
    rest = re.sub(r"\s*SQLSTATE=\S+.*$", "", rest)
    return rest.rstrip(" .")[:240] or code
