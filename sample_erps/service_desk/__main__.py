"""``python -m sample_erps.service_desk --db service_desk.db --port 8767``: serve the
sample service desk's API until interrupted."""

from __future__ import annotations

import argparse
import time

from sample_erps.service_desk.server import serve


def main() -> None:
    """Serve the file given by ``--db`` on loopback."""
    parser = argparse.ArgumentParser(prog="python -m sample_erps.service_desk")
    parser.add_argument("--db", default="service_desk.db", help="the desk's SQLite file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args()
    with serve(args.db, host=args.host, port=args.port) as server:
        print(f"service desk on {server.api_url} (Ctrl-C stops it)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
