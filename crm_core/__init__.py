"""The hub: store, sync engine, reconciliation, outbox, runs, CLI and API (layer L2)."""

__version__ = "0.1.0"
