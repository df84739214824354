"""The states of a quarantined row (no store, no polars: the command line's help names them)."""

OPEN, REPLAYED, SUPERSEDED, DISCARDED = "open", "replayed", "superseded", "discarded"
STATUSES = (OPEN, REPLAYED, SUPERSEDED, DISCARDED)
