"""The HTTP API of the hub (FastAPI): customer 360 for CRM users, and ops.

``crm_core.api.service`` holds the plain functions the API and the CLI share and imports
no FastAPI; the app itself (``create_app``) needs the ``api`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app(config: Any, **kwargs: Any) -> FastAPI:
    """The API app for ``config`` (see :func:`crm_core.api.app.create_app`)."""
    from crm_core.api.app import create_app as _create_app

    return _create_app(config, **kwargs)


__all__ = ["create_app"]
