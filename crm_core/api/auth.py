"""Who is calling and what they may see: ``Authorization: Bearer <API key>`` checked
against the store's hashed keys (a key found valid lately without asking the store again,
see :mod:`crm_core.access.key_cache`), the key's role against the scope of the route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from crm_core.access.api_keys import ApiKey, Scope, authenticate, remembered

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key made with `crm-hub apikey create --role ROLE`.",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def require(scope: Scope) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that lets the request through only with a valid key whose role
    grants ``scope`` (by ``api.access`` in crm-hub.yaml); 401 without a valid key, 403
    when the role does not allow it."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ApiKey:
        if credentials is None:
            raise HTTPException(
                401, "an API key is needed: send 'Authorization: Bearer <key>'", _CHALLENGE
            )
        state = request.app.state
        presented = credentials.credentials
        # a key in use is known without a store query: checked on the event loop, with
        # no hop to a worker thread; otherwise the store is asked from a worker thread
        key = remembered(state.store, presented, state.config.api)
        if key is None:
            key = await run_in_threadpool(authenticate, state.store, presented, state.config.api)
        if key is None:
            raise HTTPException(401, "the API key is not valid or was revoked", _INVALID)
        if not key.allows(scope):
            raise HTTPException(403, f"a {key.role.value} key may not see {scope.value} data")
        request.state.api_key = key
        return key

    return check


async def reject_unknown_query(request: Request) -> None:
    """422 for query parameters the route does not take (a typo should not silently
    return everything). The route's parameters are read from the app's own OpenAPI
    document, FastAPI's public account of them. Run on the event loop (no I/O, and a hop
    to a worker thread would cost more than the check)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = query_parameters(request.app.openapi(), route.path_format, request.method)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        from fastapi.exceptions import RequestValidationError

        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "unknown query parameter", "type": "extra"}
                for name in unknown[:10]
            ]
        )


def query_parameters(openapi: dict[str, Any], path: str, method: str) -> frozenset[str]:
    """The query parameters an OpenAPI document declares for one operation."""
    operation = openapi.get("paths", {}).get(path, {}).get(method.lower(), {})
    return frozenset(p["name"] for p in operation.get("parameters", []) if p.get("in") == "query")
