"""The customer-360 web page under ``/ui``: sign in with an API key, search, one customer,
correct a field (the push-back forms are in :mod:`.changes`, the ops page in :mod:`.ops`).
Pages are rendered on the server from the same service functions as the
API, with the same role rules: the key (kept in an HttpOnly, SameSite=Strict cookie)
decides what a page shows, so a viewer's page never contains credit or receivables."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import unquote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from crm_core.access.api_keys import ApiKey, Scope, authenticate
from crm_core.api import service
from crm_core.api.params import FIRST_DAY, LAST_DAY
from crm_core.api.service import pushback
from crm_core.api.service.freshness import EVERYTHING
from crm_core.api.service.lookup import NotFound
from crm_core.api.summaries import freshness_of, summary_of
from crm_core.api.web.aftersales import aftersales_data
from crm_core.api.web.formats import Formats, reader_locale, zone
from crm_core.api.web.freshness import panels
from crm_core.api.web.i18n import (
    EN,
    LANGUAGES,
    ZH,
    labeller,
    pick_language,
    role_name,
    translator,
)
from crm_core.api.web.vocabulary import SourceNames, rule_label, service_error
from crm_core.golden import pin
from schemas.errors import HubError, InvalidInput
from schemas.reconcile import GOLDEN_FIELDS

KEY_COOKIE = "crmhub_key"
LANG_COOKIE = "lang"
TZ_COOKIE = "tz"
SESSION_SECONDS = 8 * 3600
PAGE_SIZE = 25
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
#: No inline script or style, nothing from elsewhere: the page works without a CDN.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

web = APIRouter(prefix="/ui", include_in_schema=False)
templates = Environment(
    loader=PackageLoader("crm_core.api.web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
Lang = Annotated[str | None, Query(max_length=8)]


def language(request: Request, asked: str | None = None) -> str:
    """The language to answer ``request`` in."""
    return pick_language(
        asked, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )


def caller(request: Request) -> ApiKey | None:
    """The signed-in key (None: not signed in, or a key no longer valid)."""
    presented = request.cookies.get(KEY_COOKIE)
    state = request.app.state
    return authenticate(state.store, presented, state.config.api) if presented else None


def render(
    request: Request,
    name: str,
    *,
    key: ApiKey | None,
    asked_lang: str | None = None,
    status: int = 200,
    here: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Template ``name`` in the request's language and time zone; remembers a language
    chosen with ``?lang=`` in its cookie."""
    lang = language(request, asked_lang)
    tz = zone(unquote(request.cookies.get(TZ_COOKIE, "")))
    path = here or request.url.path
    # a POST's answer switches language onto its page (``here``) with no query
    get = request.method == "GET"
    query = {k: v for k, v in request.query_params.items() if k != "lang"} if get else {}
    switch = {code: f"{path}?{urlencode({**query, 'lang': code})}" for code in LANGUAGES}
    config = request.app.state.config
    reader = reader_locale(lang, request.headers.get("accept-language"))
    html = templates.get_template(name).render(
        t=translator(lang),
        label=labeller(lang),
        rule=rule_label(lang),
        src=SourceNames(config.sources, lang),
        f=Formats(lang, tz, reader, config.reconcile.phone_region),
        lang=lang,
        tz=str(tz),
        key=key,
        role=role_name(lang, key.role.value) if key else "",
        can_customers=key is not None and key.allows(Scope.CUSTOMERS),
        can_ops=key is not None and key.allows(Scope.OPS),
        switch=switch,
        languages={ZH: "中文", EN: "English"},
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if asked_lang in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, asked_lang, max_age=365 * 86400, path="/", samesite="strict"
        )
    return response


def to_login() -> RedirectResponse:
    """To the sign-in form."""
    return RedirectResponse("/ui/login", status_code=303)


@web.get("")
@web.get("/")
def home() -> RedirectResponse:
    """The search page."""
    return RedirectResponse("/ui/search", status_code=303)


@web.get("/login")
def login_form(request: Request, lang: Lang = None) -> Response:
    """The sign-in form: one field, the API key."""
    return render(request, "login.html", key=None, asked_lang=lang, error=None)


@web.post("/login")
def login(
    request: Request, key: Annotated[str, Form(max_length=200)] = "", lang: Lang = None
) -> Response:
    """Check the key; keep it in an HttpOnly, SameSite=Strict cookie and go to search
    (an ops key, which sees no customers, to the ops page)."""
    state = request.app.state
    found = authenticate(state.store, key, state.config.api) if key.strip() else None
    if found is None:
        error = "login.bad_key" if key.strip() else "login.empty"
        return render(request, "login.html", key=None, asked_lang=lang, error=error, status=401)
    start = "/ui/ops" if not found.allows(Scope.CUSTOMERS) and found.allows(Scope.OPS) else None
    response = RedirectResponse(start or "/ui/search", status_code=303)
    response.set_cookie(
        KEY_COOKIE,
        key.strip(),
        max_age=SESSION_SECONDS,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@web.post("/logout")
def logout() -> RedirectResponse:
    """Forget the key."""
    response = to_login()
    response.delete_cookie(KEY_COOKIE, path="/ui", httponly=True, samesite="strict")
    return response


@web.get("/search")
def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    lang: Lang = None,
) -> Response:
    """The search box and its results (every customer when empty)."""
    key = caller(request)
    if key is None:
        return to_login()
    if not key.allows(Scope.CUSTOMERS):
        return forbidden(request, key, lang)
    page = service.search(request.app.state.store, q, limit=PAGE_SIZE, offset=offset)
    more = urlencode({"q": q, "offset": offset + PAGE_SIZE})
    next_url = f"/ui/search?{more}" if page.more else None
    return render(
        request, "search.html", key=key, asked_lang=lang, q=q, page=page, next_url=next_url
    )


@web.get("/customers/{id}")
def customer_page(
    request: Request,
    id: str,
    lang: Lang = None,
    as_of: Annotated[date | None, Query(ge=FIRST_DAY, le=LAST_DAY)] = None,
) -> Response:
    """One customer: golden record, sources, orders, credit, receivables, stock, insights."""
    key = caller(request)
    if key is None:
        return to_login()
    return customer_response(request, key, id, lang, as_of)


def editor(request: Request, golden_id: str, lang: str | None) -> ApiKey | Response:
    """The signed-in key if its role may change data (editors and admins), else the
    answer: the sign-in page, or the customer's page refusing the role (403)."""
    key = caller(request)
    if key is None:
        return to_login()
    if not key.allows(Scope.CHANGES):
        reading = language(request, lang)
        refused = translator(reading)("correct.refused", role=role_name(reading, key.role.value))
        return customer_response(
            request, key, golden_id, lang, None, notice=("error", refused), status=403
        )
    return key


@web.post("/customers/{id}/correct")
def correct_field(
    request: Request,
    id: str,
    field: Annotated[str, Form(max_length=64)] = "",
    value: Annotated[str, Form(max_length=1000)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    lang: Lang = None,
) -> Response:
    """Pin a golden field to a corrected value (editors and admins); the page says
    whether it was saved, refused for the role, or not possible and why."""
    key = editor(request, id, lang)
    if not isinstance(key, ApiKey):
        return key
    reading = language(request, lang)
    t = translator(reading)
    if field not in GOLDEN_FIELDS or not value.strip():
        reason = t("correct.no_field", field=field) if field not in GOLDEN_FIELDS else ""
        notice = ("error", t("correct.failed", reason=reason or t("correct.empty")))
        return customer_response(request, key, id, lang, None, notice=notice, status=422)
    try:
        done = pin(
            request.app.state.store,
            id,
            field,
            value.strip(),
            request.app.state.config.reconcile.survivorship,
            by=key.name,
            note=note.strip() or None,
        )
    except HubError as exc:
        names = SourceNames(request.app.state.config.sources, reading)
        notice = ("error", t("correct.failed", reason=service_error(reading, str(exc), names)))
        status = 422 if isinstance(exc, InvalidInput) else 409
        return customer_response(request, key, id, lang, None, notice=notice, status=status)
    text = t(
        "correct.done", field=t(f"field.{field}"), value=value.strip(), id=done["id"], who=key.name
    )
    return customer_response(request, key, id, lang, None, notice=("ok", text))


def bad_input(request: Request, reason: str) -> Response:
    """The error page for a request the page refuses as it is (422), ``reason`` saying
    which part and why."""
    message = translator(language(request))("error.bad_input", reason=reason)
    return render(request, "error.html", key=None, message=message, status=422)


def forbidden(
    request: Request, key: ApiKey, lang: str | None, message_key: str = "error.forbidden"
) -> Response:
    """The error page saying the key's role may not see this page (403)."""
    message = translator(language(request, lang))(
        message_key, role=role_name(language(request, lang), key.role.value)
    )
    return render(request, "error.html", key=key, asked_lang=lang, message=message, status=403)


def customer_response(
    request: Request,
    key: ApiKey,
    golden_id: str,
    lang: str | None,
    as_of: date | None,
    *,
    notice: tuple[str, str] | None = None,
    status: int = 200,
    draft: dict[str, str] | None = None,
) -> Response:
    """The customer page for ``key`` (404 page for an unknown id), with a ``notice``
    above it and, after a refused form, that form filled in again (``draft``)."""
    if not key.allows(Scope.CUSTOMERS):
        return forbidden(request, key, lang)
    day = as_of or datetime.now(UTC).date()
    try:
        if not ID.match(golden_id):
            raise NotFound(golden_id)
        data = _customer_data(request, key, golden_id, day)
    except NotFound:
        message = translator(language(request, lang))("error.not_found", id=golden_id)
        return render(request, "error.html", key=key, asked_lang=lang, message=message, status=404)
    return render(
        request,
        "customer.html",
        key=key,
        asked_lang=lang,
        status=status,
        here=f"/ui/customers/{data['customer'].id}",
        notice=notice,
        fields=GOLDEN_FIELDS,
        can_edit=key.allows(Scope.CHANGES),
        can_finance=key.allows(Scope.FINANCE),
        draft=draft or {},
        token=uuid.uuid4().hex,
        **data,
    )


def _customer_data(request: Request, key: ApiKey, golden_id: str, day: date) -> dict[str, Any]:
    store = request.app.state.store
    customer = service.detail(store, golden_id)
    gid = customer.id
    insights = service.insights(
        store, gid, as_of=day, pop=request.app.state.population.get(store, day)
    )
    history_max = max((h.amount for h in insights.purchase_history), default=0) or 1
    finance = key.allows(Scope.FINANCE)
    orders = service.orders(store, gid, limit=PAGE_SIZE)
    customer.freshness = freshness_of(request, gid, EVERYTHING)
    return {
        "customer": customer,
        "panels": panels(customer.freshness),
        "orders": orders,
        "currency": next((o.currency for o in orders.items if o.currency), "CNY"),
        "concessions": pushback.concessions(store, gid),
        "pending": pushback.pending_changes(store, gid),
        "inventory": service.inventory_for(store, gid, as_of=day, limit=PAGE_SIZE),
        "insights": insights,
        "summary": summary_of(request, key, gid, day),
        "history_max": history_max,
        "credit": service.credit(store, gid) if finance else None,
        "receivables": service.receivables(store, gid, as_of=day) if finance else None,
        "as_of": day,
        "can_aftersales": key.allows(Scope.AFTERSALES),
        **(
            aftersales_data(store, gid, day, request.app.state.config.campaigns)
            if key.allows(Scope.AFTERSALES)
            else {}
        ),
        "attribution": request.app.state.config.campaigns,
    }
