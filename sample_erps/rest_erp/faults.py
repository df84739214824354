"""Faults the sample REST ERP can be told to inject, to test how clients cope.

A :class:`Fault` says what goes wrong (``kind``), on which requests (``path`` prefix and
``method``, after letting ``after`` matching requests through) and how often (``times``;
None is for ever). On writes (PATCH, POST) a fault can strike after the change is committed
(``applied``), so the client sees a failure although its change is in: the case that an
``Idempotency-Key`` makes safe to retry.
Faults are set in process (``server.faults.add(...)``), through the admin endpoint
(``POST /_admin/faults`` with a JSON object or list, ``DELETE /_admin/faults``), or for one
request with the ``X-Fault`` header (``X-Fault: status=503``, ``X-Fault: kind=slow;delay=2``,
``X-Fault: status=500;applied=true``).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["slow", "status", "rate_limit", "drop", "malformed"]
KINDS: tuple[str, ...] = ("slow", "status", "rate_limit", "drop", "malformed")
#: The methods that change data (``applied`` rules strike only these).
WRITES = frozenset({"PATCH", "POST", "PUT", "DELETE"})


@dataclass
class Fault:
    """One fault rule.

    - ``slow``: wait ``delay`` seconds before answering;
    - ``status``: answer ``status`` (500 by default) with a JSON error body;
    - ``rate_limit``: answer 429 with ``Retry-After: retry_after`` (seconds);
    - ``drop``: send the headers and half of the page, then close the connection;
    - ``malformed``: send a page whose JSON is cut off in the middle.

    ``method`` limits the rule to requests of that HTTP method (any when empty).
    ``applied`` makes it strike a write once its change is committed (or its stored answer
    is replayed), and pass reads by: ``status`` and ``rate_limit`` then replace the answer,
    ``slow`` delays it, ``drop`` closes the connection with no answer at all. Without
    ``applied``, ``drop`` and ``malformed`` on a write also strike after the change, but
    the client has its status line (2xx) by then.
    """

    kind: Kind
    path: str = ""
    after: int = 0
    times: int | None = 1
    delay: float = 1.0
    status: int = 500
    retry_after: int = 1
    method: str = ""
    applied: bool = False
    seen: int = field(default=0, repr=False)
    fired: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (known: {', '.join(KINDS)})")
        self.method = self.method.upper()

    def matches(self, path: str, method: str) -> bool:
        """Whether the rule is about a request (before counting it)."""
        if not path.startswith(self.path) or (self.method and method != self.method):
            return False
        return not self.applied or method in WRITES

    def as_dict(self) -> dict[str, Any]:
        """The rule as JSON-safe data."""
        return asdict(self)


def parse_header(value: str) -> Fault:
    """A fault from an ``X-Fault`` header: ``drop``, ``status=503``, ``kind=slow;delay=2``,
    ``status=500;applied=true``."""
    parts = [p.strip() for p in value.split(";") if p.strip()]
    fields: dict[str, Any] = {}
    for part in parts:
        name, sep, raw = part.partition("=")
        if not sep:
            fields["kind"] = name
        elif name == "status" and "kind" not in fields:
            fields.update(kind="status", status=int(raw))
        else:
            fields[name] = raw
    for name, cast in (("delay", float), ("status", int), ("retry_after", int)):
        if name in fields:
            fields[name] = cast(fields[name])
    if "applied" in fields:
        fields["applied"] = str(fields["applied"]).lower() in ("1", "true", "yes")
    return Fault(**fields, times=None)


class FaultPlan:
    """The faults in force; thread safe, as the server answers requests in threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, *faults: Fault) -> None:
        """Put faults in force, after those already there."""
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        """The faults in force, with how often each has seen and fired."""
        with self._lock:
            return list(self._faults)

    def pick(self, path: str, method: str = "GET") -> Fault | None:
        """The fault to inject into a ``method`` request for ``path``, counting it; None
        for none."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(path, method):
                    continue
                if fault.times is not None and fault.fired >= fault.times:
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.fired += 1
                return fault
        return None
