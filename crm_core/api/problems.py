"""Errors as RFC 7807 problem details (``application/problem+json``).

Every error the API answers with has ``type``, ``title``, ``status`` and ``detail``;
a validation error adds ``errors`` (where and what, never the value sent back). An
unexpected error is logged with an id and answered with that id only: no stack trace,
no SQL, no URL with a password ever reaches the client.
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_core.api.service.lookup import NotFound
from crm_core.pushback import ChangeRejected, UnknownChange
from schemas.errors import HubError
from schemas.secrets import mask_secrets

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("crm_core.api")


def refusal_status(exc: HubError) -> int:
    """The status a refused CRM-side change answers with, over the API and on the page:
    404 for an unknown change or conflict, 409 when it clashes with what is there (a
    customer with no record to change, a key used for another change), 422 otherwise."""
    if isinstance(exc, UnknownChange):
        return 404
    return 409 if isinstance(exc, ChangeRejected) and exc.conflict else 422


class ProblemError(BaseModel):
    """One invalid part of a request."""

    location: str = Field(description="Where: query.limit, path.customer_id, header...")
    message: str


class Problem(BaseModel):
    """An RFC 7807 problem detail."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemError] | None = None


def problem(
    status: int, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response; ``title`` is the status's reason phrase."""
    detail = mask_secrets(detail) if detail else detail
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, **extra)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all as problem+json."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {MEDIA_TYPE: {}},
        }
        for status in statuses
    }


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        ProblemError(
            location=_location(tuple(e.get("loc", ()))), message=str(e.get("msg", ""))[:300]
        )
        for e in exc.errors()[:20]
    ]
    detail = "; ".join(f"{e.location}: {e.message}" for e in errors[:3])
    return problem(422, f"invalid request: {detail}", errors=errors)


def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such path"
    return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))


def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return problem(404, str(exc))


def _store(request: Request, exc: Exception) -> JSONResponse:
    ref = uuid.uuid4().hex[:12]
    log.error(
        "store error %s on %s %s: %s", ref, request.method, request.url.path, type(exc).__name__
    )
    return problem(503, f"the store did not answer; the error is logged as {ref}")


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    ref = uuid.uuid4().hex[:12]
    log.error("unexpected error %s on %s %s", ref, request.method, request.url.path, exc_info=exc)
    return problem(500, f"the server failed; the error is logged as {ref}")


def _hub(request: Request, exc: Exception) -> JSONResponse:
    ref = uuid.uuid4().hex[:12]
    log.error(
        "hub error %s on %s %s: %s", ref, request.method, request.url.path, mask_secrets(str(exc))
    )
    return problem(500, f"the server failed; the error is logged as {ref}")


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with problem+json."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(OperationalError, _store)
    app.add_exception_handler(PoolTimeout, _store)
    app.add_exception_handler(HubError, _hub)
    app.add_exception_handler(Exception, _unexpected)
