"""The customer-360 web page: server-rendered (Jinja2) pages under ``/ui`` over the same
service functions and role rules as the API, in Chinese and English: search and the
customer page (:mod:`.pages`), its push-back forms (:mod:`.changes`), the ops page
(:mod:`.ops`), the screen pop (:mod:`.pop`); one stylesheet and one small script as
package data, nothing fetched from elsewhere."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from crm_core.api.web.changes import changes
from crm_core.api.web.ops import ops_page
from crm_core.api.web.pages import web
from crm_core.api.web.pop import pop_page


def install(app: FastAPI) -> None:
    """Serve the page's routes, its static files, and ``/`` leading to it."""
    app.include_router(web)
    app.include_router(changes)
    app.include_router(ops_page)
    app.include_router(pop_page)
    app.mount(
        "/ui/static", StaticFiles(packages=[("crm_core.api.web", "static")]), name="ui-static"
    )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/search", status_code=303)
