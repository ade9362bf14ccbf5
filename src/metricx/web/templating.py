"""The Jinja2 environment (autoescape on), fingerprinted static URLs and the static mount."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from metricx.web import format as fmt
from metricx.web.security import csrf_token, set_csrf_cookie

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
LONG_CACHE = "public, max-age=31536000, immutable"


@lru_cache(maxsize=1)
def _fingerprints() -> dict[str, str]:
    # Read once per process at first render: the files do not change while it runs.
    return {
        str(path.relative_to(STATIC_DIR)): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC_DIR.rglob("*")
        if path.is_file()
    }


def static_url(name: str) -> str:
    """`/static/app.css?v=<content hash>`, so a changed file gets a new URL."""
    version = _fingerprints().get(name, "0")
    return f"/static/{name}?v={version}"


class CachedStaticFiles(StaticFiles):
    """Static files cached for a year when requested by fingerprinted URL."""

    def file_response(
        self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200
    ) -> Any:
        response = super().file_response(full_path, stat_result, scope, status_code)
        fingerprinted = b"v=" in scope.get("query_string", b"")
        response.headers["cache-control"] = LONG_CACHE if fingerprinted else "no-cache"
        return response


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static=static_url, dash=fmt.DASH)
    env.filters.update(
        money=fmt.money,
        count=fmt.count,
        ratio=fmt.ratio,
        percent=fmt.percent,
        metric=fmt.metric,
        provider=fmt.provider,
        ago=fmt.ago,
        short_date=fmt.short_date,
        long_date=fmt.long_date,
    )
    return env


ENV = _environment()


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a page with the CSRF token and current path available to every template."""
    token = csrf_token(request)
    values = {"request_path": request.url.path, "csrf_token": token, "user": None}
    values.update(context)
    html = ENV.get_template(name).render(values)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["cache-control"] = "no-store"
    settings = request.app.state.settings
    secure = (
        settings.cookie_secure
        if settings.cookie_secure is not None
        else (request.url.scheme == "https")
    )
    set_csrf_cookie(request, response, secure)
    return response
