"""The ledger's names for the hub's own jobs, beside the sources' streams."""

#: The ledger's source name for hub-wide jobs; no configured source can have it (names
#: start a-z).
HUB_SOURCE = "_hub"
#: The stream names of the hub-wide jobs' runs.
RECONCILE, PUSH_BACK = "reconcile", "push_back"
