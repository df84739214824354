"""The run ledger: one row per run of every stream and hub job, and what is read from it.

- :mod:`.runs`: start, progress and finish of a run;
- :mod:`.health`: run history, per-stream statistics, the health check behind
  ``status --check``;
- :mod:`.metrics`: the ledger in Prometheus text format;
- :mod:`.names`: the ledger's names of the hub's own jobs (reconcile, push-back).
"""
