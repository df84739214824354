"""``python -m bench NAME``: run one benchmark, print its table, save JSON and PNG plots."""

from __future__ import annotations

import argparse

from bench import (
    api,
    celery_round,
    connectors,
    deletes,
    docs,
    extract,
    kills,
    matching,
    pushback,
    scaling,
    unseen_cjk,
)
from schemas.settings import DEFAULT_BATCH_SIZE


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the benchmark it names."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of crm-hub against the tools users would pick instead, "
        "measured in the same run on this machine. Results go to bench/results/.",
    )
    sub = parser.add_subparsers(dest="name", required=True, metavar="NAME")
    ex = sub.add_parser(
        "extract",
        help="PostgreSQL order lines into a store: driver ceiling, dlt, crm-hub, incremental",
    )
    ex.add_argument("--rows", type=int, default=1_000_000, help="order lines (default 1,000,000)")
    ex.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"the hub's batch size (default {DEFAULT_BATCH_SIZE:,}, the hub's)",
    )
    ex.add_argument("--no-peers", action="store_true", help="skip dlt (no .venv-bench needed)")
    ex.add_argument("--no-references", action="store_true", help="skip SQLite and DuckDB lines")
    ex.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    sc = sub.add_parser("scaling", help="full sync time and peak memory at several sizes")
    sc.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated sizes (rows)")
    sc.add_argument("--no-peers", action="store_true", help="skip dlt")
    sc.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    ma = sub.add_parser(
        "matching", help="identity resolution: FEBRL4 accuracy, then time and memory by size"
    )
    ma.add_argument(
        "--sizes", default="100000,1000000", help="generated customer records (comma-separated)"
    )
    ma.add_argument("--no-baseline", action="store_true", help="skip the plain Splink model")
    ma.add_argument(
        "--unseen-size",
        type=int,
        default=unseen_cjk.DEFAULT_ENTITIES,
        help="true customers of the unseen Chinese set (default 4,000, about 11,000 "
        "records; 0 skips it)",
    )
    ma.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    co = sub.add_parser(
        "connectors", help="each connector's read against its bare driver, PostgreSQL and MariaDB"
    )
    co.add_argument("--rows", type=int, default=1_000_000, help="order lines (default 1,000,000)")
    co.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    ap = sub.add_parser(
        "api", help="customer-360 API response times under concurrent load, PostgreSQL store"
    )
    ap.add_argument("--customers", type=int, default=1_000_000, help="golden customers")
    ap.add_argument("--lines", type=int, default=10_000_000, help="order lines")
    ap.add_argument("--seconds", type=float, default=60.0, help="timed load (default 60)")
    ap.add_argument("--warmup", type=float, default=15.0, help="untimed load first (seconds)")
    ap.add_argument("--concurrency", type=int, default=4, help="connections (default 4)")
    ap.add_argument("--rebuild", action="store_true", help="build the store even if kept")
    ap.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    pb = sub.add_parser(
        "pushback",
        help="CRM changes written back: PostgreSQL and REST targets, latency on a schedule",
    )
    pb.add_argument("--changes", type=int, default=5_000, help="phone/e-mail changes (5,000)")
    pb.add_argument("--concessions", type=int, default=500, help="concessions (default 500)")
    pb.add_argument("--no-rest", action="store_true", help="skip the REST sample ERP")
    pb.add_argument(
        "--latency-changes", type=int, default=300, help="changes of the latency run (300)"
    )
    pb.add_argument("--period", type=float, default=60.0, help="push-back schedule (s, 60)")
    pb.add_argument("--cycles", type=int, default=5, help="schedule periods to measure (5)")
    pb.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    de = sub.add_parser(
        "deletes", help="a detect pass of deletes against a full sync; memory at two sizes"
    )
    de.add_argument("--rows", type=int, default=1_000_000, help="order lines (default 1,000,000)")
    de.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"the hub's batch size (default {DEFAULT_BATCH_SIZE:,}, the hub's)",
    )
    de.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    ce = sub.add_parser(
        "celery", help="one pull round of the demo on CeleryExecutor: 1 worker, then 2 workers"
    )
    ce.add_argument("--customers", type=int, default=300, help="demo customers (default 300)")
    ce.add_argument("--concurrency", type=int, default=2, help="task processes per worker (2)")
    ce.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    ki = sub.add_parser(
        "kills", help="kill -9 of crm-hub sync and push at random moments: lost, duplicated"
    )
    ki.add_argument("--rows", type=int, default=200_000, help="order lines (default 200,000)")
    ki.add_argument("--trials", type=int, default=10, help="kills of each (default 10)")
    ki.add_argument("--changes", type=int, default=2_000, help="CRM changes (default 2,000)")
    ki.add_argument("--seed", type=int, default=kills.SEED, help="of the kill moments")
    ki.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    sub.add_parser("docs", help="write docs/benchmarks.md from the results in bench/results/")
    args = parser.parse_args(argv)
    if args.name == "extract":
        extract.run(
            args.rows,
            peers=not args.no_peers,
            references=not args.no_references,
            batch_size=args.batch_size,
            as_json=args.json,
        )
    elif args.name == "scaling":
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
        scaling.run(sizes, peers=not args.no_peers, as_json=args.json)
    elif args.name == "matching":
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
        matching.run(
            sizes, baseline=not args.no_baseline, as_json=args.json, unseen_size=args.unseen_size
        )
    elif args.name == "connectors":
        connectors.run(args.rows, as_json=args.json)
    elif args.name == "api":
        api.run(
            args.customers,
            args.lines,
            seconds=args.seconds,
            warmup=args.warmup,
            concurrency=args.concurrency,
            rebuild=args.rebuild,
            as_json=args.json,
        )
    elif args.name == "pushback":
        pushback.run(
            args.changes,
            concessions=args.concessions,
            rest=not args.no_rest,
            latency_changes=args.latency_changes,
            period=args.period,
            cycles=args.cycles,
            as_json=args.json,
        )
    elif args.name == "deletes":
        deletes.run(args.rows, batch_size=args.batch_size, as_json=args.json)
    elif args.name == "celery":
        celery_round.run(args.customers, concurrency=args.concurrency, as_json=args.json)
    elif args.name == "kills":
        kills.run(args.rows, args.trials, args.changes, seed=args.seed, as_json=args.json)
    elif args.name == "docs":
        print(f"wrote {docs.write()}")


if __name__ == "__main__":
    main()
