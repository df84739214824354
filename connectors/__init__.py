"""Adapters to back-office systems (layer L1): each reads and writes its own records."""

from connectors.base import (
    BaseConnector,
    available_kinds,
    connector_class,
    open_source,
    source_option_problems,
)

__all__ = [
    "BaseConnector",
    "available_kinds",
    "connector_class",
    "open_source",
    "source_option_problems",
]
