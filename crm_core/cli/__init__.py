"""The ``crm-hub`` command line."""

from crm_core.cli.app import app, main

__all__ = ["app", "main"]
