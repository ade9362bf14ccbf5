"""Server-rendered pages: views, templates and the app's own static JS and CSS."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the pages, static files, security headers and the page error handlers."""
    from metricx.web import pages, views, views_auth
    from metricx.web.security import SecurityHeadersMiddleware
    from metricx.web.templating import STATIC_DIR, CachedStaticFiles

    app.add_middleware(SecurityHeadersMiddleware)
    app.add_exception_handler(pages.LoginRequired, pages.login_required_handler)
    app.add_exception_handler(pages.PageNotFound, pages.not_found_handler)
    app.mount("/static", CachedStaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(views_auth.router)
    app.include_router(views.router)
