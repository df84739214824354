"""``/lookup/phone/{number}``: screen pop for a call centre. The phone system sends the
caller's number as it has it; the answer is the card of each customer with that number
(any role that reads customers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from crm_core.access.api_keys import ApiKey, Scope
from crm_core.api.auth import reject_unknown_query, require
from crm_core.api.params import AsOf, today
from crm_core.api.problems import documented
from crm_core.api.service.phone_lookup import PhoneCards, card, matches_in
from crm_core.api.summaries import summary_settings
from crm_core.store.db import read_connection

lookup = APIRouter(
    tags=["customers"],
    dependencies=[Depends(require(Scope.CUSTOMERS)), Depends(reject_unknown_query)],
    responses=documented(401, 403, 422, 503),
)
PhoneNumber = Annotated[
    str,
    Path(
        min_length=1,
        max_length=60,
        pattern=r"^[0-9+()\-.,;=#*/ A-Za-z\uFF00-\uFFEF\u8f6c\u5206\u673a]+$",
        description="As the phone system sends it: E.164 (+8613812345678), national "
        "(138-1234-5678, 0755 5573 1760), with an international prefix (0086 ...) or an "
        "extension (ext. 12, #12).",
    ),
]


def cards(request: Request, key: ApiKey, number: str, as_of: AsOf = None) -> PhoneCards:
    """The cards of the customers ``number`` leads to, as ``key`` may see them, read on
    one connection, outside a transaction (:func:`crm_core.store.db.read_connection`)."""
    state = request.app.state
    day = today(as_of)
    pop, figures = summary_settings(request, key, day)
    with read_connection(state.store) as conn:
        e164, found = matches_in(conn, number, state.config.reconcile.phone_region)
        items = [
            card(conn, m, as_of=day, pop=pop, figures=figures, config=state.config) for m in found
        ]
    return PhoneCards(number=number, e164=e164, items=items)


@lookup.get(
    "/lookup/phone/{number}",
    summary="Customers by phone number (screen pop)",
    response_model=PhoneCards,
)
def lookup_phone(request: Request, number: PhoneNumber, as_of: AsOf = None) -> Response:
    """The card of each customer with this phone number (its own or a source record's):
    golden id, name, the summary (as ``GET /customers/{id}`` gives it), the last five
    orders and the changes not delivered yet; ``items`` is empty when no customer has it."""
    # the cards are views made here: written as JSON at once, not dumped, validated again
    # and dumped once more by FastAPI (0.5 ms of a screen pop's CPU)
    found = cards(request, request.state.api_key, number, as_of)
    return Response(found.model_dump_json(by_alias=True), media_type="application/json")
