"""The customer page's push-back forms (editors and admins): record an approved
concession, change contact data. Both go through the push-back service
(:mod:`crm_core.pushback.submit`) under the signed-in key's name, as the HTTP API does;
the page then shows the change id and its state, or the service's refusal and why. A
viewer never sees the forms, and posting one anyway is refused (403).

Each rendered form carries a one-off token that becomes the change's idempotency key, so
a form posted twice (a reload, a double click) records one change, not two.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import NumberFormatError, parse_decimal
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from crm_core.access.api_keys import ApiKey
from crm_core.api.problems import refusal_status
from crm_core.api.web.formats import BABEL_LOCALES
from crm_core.api.web.i18n import labeller, translator
from crm_core.api.web.pages import ID, Lang, customer_response, editor, language
from crm_core.api.web.vocabulary import SourceNames, service_error
from crm_core.pushback import submit
from schemas.errors import HubError

changes = APIRouter(prefix="/ui", include_in_schema=False)
#: the contact fields the page's form changes
CONTACT_FIELDS = ("phone", "email", "street", "city", "postcode")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
Short = Annotated[str, Form(max_length=100)]
#: the form's one-off token (see :func:`_idempotency_key`)
Token = Annotated[str, Form(max_length=64)]


class _BadInput(ValueError):
    """A form value the page cannot read (the message is already in the reader's words)."""


def _idempotency_key(key: ApiKey, token: str) -> str | None:
    return f"ui-{key.key_id}-{token}" if _TOKEN.match(token) else None


def _number(t: Any, lang: str, label: str, text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        return parse_decimal(text, locale=BABEL_LOCALES[lang], strict=True)
    except NumberFormatError:
        raise _BadInput(t("form.bad_number", field=label, value=text)) from None


def _day(t: Any, label: str, text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _BadInput(t("form.bad_date", field=label, value=text)) from None


def _refused(
    request: Request,
    key: ApiKey,
    golden_id: str,
    lang: str | None,
    reason: str,
    status: int,
    draft: dict[str, str],
) -> Response:
    reading = language(request, lang)
    names = SourceNames(request.app.state.config.sources, reading)
    reason = service_error(reading, reason, names)
    notice = ("error", translator(reading)("change.refused", reason=reason))
    return customer_response(
        request, key, golden_id, lang, None, notice=notice, status=status, draft=draft
    )


def _editor(request: Request, golden_id: str, lang: str | None) -> ApiKey | Response:
    """The signed-in editor's key, or the answer for anyone else: sign in, 403 for a
    role that may not submit changes, 404 for an id that cannot be a customer's."""
    key = editor(request, golden_id, lang)
    if not isinstance(key, ApiKey):
        return key
    if not ID.match(golden_id):
        return customer_response(request, key, golden_id, lang, None)  # the 404 page
    return key


@changes.post("/customers/{id}/concessions")
def record_concession(
    request: Request,
    id: str,
    kind: Annotated[str, Form(max_length=10)] = "amount",
    amount: Annotated[str, Form(max_length=40)] = "",
    currency: Annotated[str, Form(max_length=3)] = "",
    percent: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    approver: Short = "",
    valid_from: Annotated[str, Form(max_length=20)] = "",
    valid_to: Annotated[str, Form(max_length=20)] = "",
    order_id: Annotated[str, Form(max_length=64)] = "",
    token: Token = "",
    lang: Lang = None,
) -> Response:
    """Record a manager-approved concession (an amount with its currency, or a
    percentage) for the customer or one of its orders, queued for the system that books
    concessions."""
    key = _editor(request, id, lang)
    if not isinstance(key, ApiKey):
        return key
    reading = language(request, lang)
    t = translator(reading)
    draft = {
        "form": "concession",
        "kind": kind,
        "amount": amount,
        "currency": currency,
        "percent": percent,
        "reason": reason,
        "approver": approver,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "order_id": order_id,
    }
    try:
        by_amount = kind != "percent"
        concession = {
            "kind": kind,
            "amount": _number(t, reading, t("form.amount"), amount) if by_amount else None,
            "currency": (currency.strip().upper() or None) if by_amount else None,
            "percent": None if by_amount else _number(t, reading, t("form.percent"), percent),
            "reason": reason.strip(),
            "approver": approver.strip(),
            "valid_from": _day(t, t("form.valid_from"), valid_from),
            "valid_to": _day(t, t("form.valid_to"), valid_to),
            "order_id": order_id.strip() or None,
        }
    except _BadInput as exc:
        return _refused(request, key, id, lang, str(exc), 422, draft)
    try:
        view = submit.record_concession(
            request.app.state.store,
            request.app.state.config,
            golden_id=id,
            concession=concession,
            who=key.name,
            idempotency_key=_idempotency_key(key, token),
        )
    except HubError as exc:
        return _refused(request, key, id, lang, str(exc), refusal_status(exc), draft)
    done = t(
        "concession.done",
        id=view.record_key,
        change=view.change_id,
        state=labeller(reading)("push", view.state),
        who=view.who,
    )
    return customer_response(request, key, id, lang, None, notice=("ok", done))


@changes.post("/customers/{id}/contact")
def change_contact(
    request: Request,
    id: str,
    phone: Annotated[str, Form(max_length=60)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    street: Annotated[str, Form(max_length=200)] = "",
    city: Short = "",
    postcode: Annotated[str, Form(max_length=20)] = "",
    token: Token = "",
    lang: Lang = None,
) -> Response:
    """Change the customer's phone, e-mail or address (the fields filled in), queued for
    every system that keeps a copy; a field the CRM does not own is refused, naming its
    owner."""
    key = _editor(request, id, lang)
    if not isinstance(key, ApiKey):
        return key
    reading = language(request, lang)
    t = translator(reading)
    given = dict(zip(CONTACT_FIELDS, (phone, email, street, city, postcode), strict=True))
    values = {f: v.strip() for f, v in given.items() if v.strip()}
    draft = {"form": "contact", **given}
    if not values:
        return _refused(request, key, id, lang, t("contact.empty"), 422, draft)
    try:
        view = submit.change_fields(
            request.app.state.store,
            request.app.state.config,
            entity="customers",
            golden_id=id,
            values=values,
            who=key.name,
            idempotency_key=_idempotency_key(key, token),
        )
    except HubError as exc:
        return _refused(request, key, id, lang, str(exc), refusal_status(exc), draft)
    done = t(
        "contact.done",
        change=view.change_id,
        state=labeller(reading)("push", view.state),
        fields=", ".join(t(f"field.{f}") for f in values),
        who=view.who,
    )
    return customer_response(request, key, id, lang, None, notice=("ok", done))
