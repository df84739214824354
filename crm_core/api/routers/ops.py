"""Ops: the run ledger, the quarantine and Prometheus metrics (ops and admin only); the
health check (no key)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import text

from crm_core import __version__
from crm_core.access.api_keys import Scope
from crm_core.api import service
from crm_core.api.auth import reject_unknown_query, require
from crm_core.api.params import Limit, Name, Offset, StreamName, with_next
from crm_core.api.problems import documented
from crm_core.api.service.views import Health, Page, QuarantineRow, RunDetail, RunView
from crm_core.ledger import metrics

ops = APIRouter(
    tags=["ops"],
    dependencies=[Depends(require(Scope.OPS)), Depends(reject_unknown_query)],
    responses=documented(401, 403, 422, 503),
)
health = APIRouter(tags=["ops"], dependencies=[Depends(reject_unknown_query)])
RunStatus = Literal["success", "failed", "running", "interrupted", "refused"]
QuarantineStatus = Literal["open", "replayed", "superseded", "discarded", "all"]


@health.get("/health", summary="Liveness", responses=documented(422, 503))
def get_health(request: Request) -> Health:
    """200 when the API is up and its store answers; no key needed."""
    with request.app.state.store.connect() as conn:
        conn.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__)


@ops.get("/runs", summary="Run history")
def get_runs(
    request: Request,
    source: Name = None,
    stream: StreamName = None,
    status: RunStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[RunView]:
    """Runs of every stream (and of reconcile), newest first, with their counts."""
    page = service.list_runs(
        request.app.state.store,
        source=source,
        stream=stream,
        status=status,
        limit=limit,
        offset=offset,
    )
    return with_next(request, page)


@ops.get("/runs/{id}", summary="One run", responses=documented(404))
def get_run(
    request: Request,
    run_id: Annotated[int, Path(alias="id", ge=1, le=2**62, description="The run id.")],
) -> RunDetail:
    """A run with its batches, watermark and contract outcome."""
    return service.run_detail(request.app.state.store, run_id)


@ops.get("/quarantine", summary="Rows held back")
def get_quarantine(
    request: Request,
    source: Name = None,
    stream: StreamName = None,
    status: QuarantineStatus = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[QuarantineRow]:
    """Quarantined rows, newest first, whole, with the reason."""
    page = service.list_quarantine(
        request.app.state.store,
        source=source,
        stream=stream,
        status=None if status == "all" else status,
        limit=limit,
        offset=offset,
    )
    return with_next(request, page)


@ops.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
)
def get_metrics(request: Request) -> PlainTextResponse:
    """The run ledger in the Prometheus text format (scrape with a bearer token)."""
    body = metrics.prometheus_text(request.app.state.config, request.app.state.store)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")
