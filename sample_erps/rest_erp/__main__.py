"""``python -m sample_erps.rest_erp``: make, change and serve the sample REST ERP.

python -m sample_erps.rest_erp generate --db rest_erp.db --customers 300
python -m sample_erps.rest_erp change --db rest_erp.db --as-of 2026-11-21
python -m sample_erps.rest_erp serve --db rest_erp.db --port 8765 [--token-env VAR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine

from sample_erps.rest_erp import Auth, RestErpServer, apply_changes, create_schema, generate


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m sample_erps.rest_erp")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="create and fill the ERP's SQLite file")
    gen.add_argument("--customers", type=int, default=300)
    gen.add_argument("--seed", type=int, default=42)
    change = sub.add_parser("change", help="apply one day of activity")
    change.add_argument("--seed", type=int, default=43)
    serve = sub.add_parser("serve", help="serve the API until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--token-env", help="accept the bearer token held in this variable")
    for cmd in (gen, change, serve):
        cmd.add_argument("--db", type=Path, default=Path("rest_erp.db"))
    for cmd in (gen, change):
        cmd.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    engine = create_engine(f"sqlite:///{args.db}")
    try:
        if args.command == "generate":
            create_schema(engine)
            counts = generate(engine, seed=args.seed, as_of=args.as_of, customers=args.customers)
        else:
            counts = apply_changes(engine, seed=args.seed, as_of=args.as_of)
    finally:
        engine.dispose()
    print(", ".join(f"{n} {what}" for what, n in counts.items()))
    return 0


def _serve(args: argparse.Namespace) -> int:
    auth = Auth()
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            print(f"environment variable {args.token_env} is not set", file=sys.stderr)
            return 2
        auth = Auth(bearer_tokens=frozenset({token}))
    with RestErpServer(args.db, host=args.host, port=args.port, auth=auth) as server:
        print(f"sample REST ERP at {server.api_url} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
