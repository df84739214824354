"""Screen pop on the page: ``/ui/pop?phone=...``, opened by a call centre's phone system
when a call comes in. One customer with that number: its page; several: a list to choose
from; none: a page saying so. The number is read as ``GET /lookup/phone/{number}`` reads
it (:mod:`crm_core.api.service.phone_lookup`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from crm_core.access.api_keys import Scope
from crm_core.api import service
from crm_core.api.service.phone_lookup import find_by_phone
from crm_core.api.web.pages import Lang, caller, forbidden, render, to_login

pop_page = APIRouter(prefix="/ui", include_in_schema=False)


@pop_page.get("/pop")
def pop(
    request: Request,
    phone: Annotated[str, Query(max_length=60)] = "",
    lang: Lang = None,
) -> Response:
    """The customer with this phone number, a list when several have it, or a page
    saying no customer has it."""
    key = caller(request)
    if key is None:
        return to_login()
    if not key.allows(Scope.CUSTOMERS):
        return forbidden(request, key, lang)
    store = request.app.state.store
    e164, found = find_by_phone(store, phone, request.app.state.config.reconcile.phone_region)
    if len(found) == 1:
        return RedirectResponse(f"/ui/customers/{found[0]}", status_code=303)
    customers = [service.detail(store, golden_id) for golden_id in found]
    return render(
        request,
        "pop.html",
        key=key,
        asked_lang=lang,
        phone=phone,
        e164=e164,
        customers=customers,
    )
