"""The peer: dlt's sql_table with the connectorx backend, loading one table into a
PostgreSQL (or DuckDB) destination. Run by the benchmark with the peers' own venv."""

import json
import resource
import sys
import time

import dlt
from dlt.sources.sql_database import sql_table

source_url, table, destination, target = sys.argv[1:5]

if destination == "postgres":
    dest = dlt.destinations.postgres(credentials=target)
else:
    dest = dlt.destinations.duckdb(credentials=target)
pipeline = dlt.pipeline(
    pipeline_name=f"bench_{destination}",
    destination=dest,
    dataset_name="dlt_bench",
    pipelines_dir=sys.argv[5] if len(sys.argv) > 5 else None,
)
started = time.perf_counter()
resource_ = sql_table(
    credentials=source_url,
    table=table,
    backend="connectorx",
    reflection_level="full_with_precision",
)
info = pipeline.run(resource_, write_disposition="replace")
seconds = time.perf_counter() - started
rows = pipeline.last_trace.last_normalize_info.row_counts.get(table, 0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak, "dlt": dlt.__version__}))
