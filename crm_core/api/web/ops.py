"""The ops page (``/ui/ops``, ops and admin keys): recent runs with their counts and
failures (pulls, reconcile and push-back apart), the rows held in quarantine, push-back
conflicts (open and recently resolved) and dead letters, read from the same ledger and
outbox as the API and the CLI."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crm_core.access.api_keys import Scope
from crm_core.api import service
from crm_core.api.service.views import RunView
from crm_core.api.web.pages import Lang, caller, forbidden, render, to_login
from crm_core.ledger.names import HUB_SOURCE, PUSH_BACK, RECONCILE
from crm_core.pushback.conflicts import list_conflicts
from crm_core.pushback.outbox import list_changes
from schemas.pushback import ConflictState, PushState

ops_page = APIRouter(prefix="/ui", include_in_schema=False)
#: how many of each list the page shows
RUNS, JOB_RUNS, QUARANTINE, CONFLICTS, RESOLVED_SHOWN, DEAD = 30, 10, 25, 50, 10, 50


def _failed(items: list[RunView]) -> int:
    return sum(1 for r in items if r.status == "failed")


@ops_page.get("/ops")
def ops(request: Request, lang: Lang = None) -> Response:
    """Runs, quarantine, conflicts and dead letters, newest first."""
    key = caller(request)
    if key is None:
        return to_login()
    if not key.allows(Scope.OPS):
        return forbidden(request, key, lang, "error.ops_forbidden")
    store = request.app.state.store
    runs = service.list_runs(store, limit=RUNS, other_than_source=HUB_SOURCE)
    jobs = {
        job: service.list_runs(store, source=HUB_SOURCE, stream=job, limit=JOB_RUNS)
        for job in (RECONCILE, PUSH_BACK)
    }
    return render(
        request,
        "ops.html",
        key=key,
        asked_lang=lang,
        runs=runs,
        failed_runs=_failed(runs.items),
        jobs=[(job, page, _failed(page.items)) for job, page in jobs.items()],
        quarantine=service.list_quarantine(store, status="open", limit=QUARANTINE),
        open_conflicts=list_conflicts(store, ConflictState.OPEN, CONFLICTS),
        resolved_conflicts=list_conflicts(store, ConflictState.RESOLVED, RESOLVED_SHOWN),
        dead=list_changes(store, state=PushState.FAILED, limit=DEAD),
    )
