"""The API benchmark's load generator, run as a process of its own on loopback.

``python -m bench.apiload --base URL --plan PLAN.json --concurrency N --seconds S``, with
the API key in ``$BENCH_API_KEY`` (never on the command line). Each of N threads holds
one keep-alive HTTP connection and plays page views back to back until S seconds have
passed: a screen pop (``/lookup/phone/`` with the customer's number as the legacy ERP
writes it), a search (by the customer's Chinese name, its pinyin, a Latin name or the
phone number, in turn), then the customer page's calls: the golden record, orders,
credit, receivables, inventory and insights. Prints one JSON object: every call's latencies in
milliseconds, failures, and how often a search found the customer on its first page.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import threading
import time
from collections import defaultdict
from typing import Any
from urllib.parse import quote, urlsplit

PAGE = ("customer", "orders", "credit", "receivables", "inventory", "insights")
PATHS = {
    "customer": "/customers/{id}",
    "orders": "/customers/{id}/orders",
    "credit": "/customers/{id}/credit",
    "receivables": "/customers/{id}/receivables",
    "inventory": "/customers/{id}/inventory",
    "insights": "/customers/{id}/insights",
}
#: at most this many results of a search are read (the page's first page)
SEARCH_LIMIT = 20


class Client:
    """One keep-alive connection that times each GET."""

    def __init__(self, base: str, key: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def get(self, path: str) -> tuple[float, int, bytes]:
        """(milliseconds, status, body) of one GET; reconnects once on a dropped line."""
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.conn.request("GET", path, headers=self.headers)
                response = self.conn.getresponse()
                body = response.read()
                return (time.perf_counter() - started) * 1000, response.status, body
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class Recorder:
    """Latencies, failures and search hits of all threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.failed: dict[str, int] = defaultdict(int)
        self.found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.page_views = 0

    def add(self, call: str, ms: float, status: int) -> None:
        with self.lock:
            self.ms[call].append(round(ms, 3))
            if status != 200:
                self.failed[f"{call} {status}"] += 1


def _search(client: Client, rec: Recorder, kind: str, query: str, wanted: str) -> None:
    path = f"/customers?q={quote(query)}&limit={SEARCH_LIMIT}"
    ms, status, body = client.get(path)
    rec.add(f"search_{kind}", ms, status)
    if status == 200:
        hit = any(item["id"] == wanted for item in json.loads(body)["items"])
        with rec.lock:
            rec.found[kind][0] += hit
            rec.found[kind][1] += 1


def _pop(client: Client, rec: Recorder, number: str, wanted: str) -> None:
    ms, status, body = client.get(f"/lookup/phone/{quote(number, safe='')}")
    rec.add("lookup_phone", ms, status)
    if status == 200:
        hit = any(item["id"] == wanted for item in json.loads(body)["items"])
        with rec.lock:
            rec.found["lookup_phone"][0] += hit
            rec.found["lookup_phone"][1] += 1


def worker(
    base: str, key: str, plan: list[dict[str, Any]], seed: int, deadline: float, rec: Recorder
) -> None:
    """Play page views of customers from ``plan`` until ``deadline``."""
    rng = random.Random(seed)
    client = Client(base, key)
    turn = seed
    while time.monotonic() < deadline:
        customer = plan[rng.randrange(len(plan))]
        kinds = sorted(customer["queries"])
        kind = kinds[turn % len(kinds)]
        turn += 1
        if "phone" in customer["queries"]:
            _pop(client, rec, customer["queries"]["phone"], customer["id"])
        _search(client, rec, kind, customer["queries"][kind], customer["id"])
        for call in PAGE:
            ms, status, _body = client.get(PATHS[call].format(id=customer["id"]))
            rec.add(call, ms, status)
        with rec.lock:
            rec.page_views += 1


def run(
    base: str, key: str, plan: list[dict[str, Any]], concurrency: int, seconds: float
) -> dict[str, Any]:
    """Drive the load; the figures as a dict (see the module's doc)."""
    rec = Recorder()
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    threads = [
        threading.Thread(target=worker, args=(base, key, plan, n, deadline, rec), daemon=True)
        for n in range(concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    return {
        "seconds": time.perf_counter() - started,
        "concurrency": concurrency,
        "page_views": rec.page_views,
        "ms": dict(rec.ms),
        "failed": dict(rec.failed),
        "found": {k: {"found": v[0], "searches": v[1]} for k, v in rec.found.items()},
    }


def main() -> None:
    """Command line: see the module's doc."""
    parser = argparse.ArgumentParser(prog="python -m bench.apiload")
    parser.add_argument("--base", required=True, help="the API's base URL (loopback)")
    parser.add_argument("--plan", required=True, help="JSON list of {id, queries}")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    host = urlsplit(args.base).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise SystemExit("the load generator only targets loopback addresses")
    with open(args.plan, encoding="utf-8") as f:
        plan = json.load(f)
    result = run(args.base, os.environ["BENCH_API_KEY"], plan, args.concurrency, args.seconds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
