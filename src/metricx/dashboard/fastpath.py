"""Cached dashboards answered before routing: the hot path of the product, kept short.

A dashboard the cache holds costs a dictionary lookup to answer, but FastAPI's routing and
dependency resolution around it cost about ten times that. This middleware serves exactly
the requests whose answer is already known: `GET /api/workspaces/{id}/dashboard` with a
preset timeframe (and optionally a provider), a credential whose AuthContext the
PrincipalCache holds, and a payload in the response cache (or an If-None-Match that
matches). It answers with the same headers and bytes the route would.

Everything else, including every error, every miss and every unusual parameter, goes on
to the route unchanged, which stays the only place where dashboards are computed,
authorised from the database or rejected.
"""

from __future__ import annotations

import re
from typing import Any, get_args
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from metricx.auth.deps import AUTH_API_TOKEN, AUTH_SESSION, MAX_ID, credential_key
from metricx.dashboard import service
from metricx.dashboard.router import Provider
from metricx.errors import MetricxError
from metricx.metrics.timeframes import TIMEFRAME_KEYS, system_clock

PATH = re.compile(r"/api/workspaces/([1-9][0-9]{0,18})/dashboard")
ROUTE_PATH = "/api/workspaces/{workspace_id}/dashboard"
PRESETS = frozenset(TIMEFRAME_KEYS) - {"custom"}
PROVIDERS = frozenset(get_args(Provider))


class CachedDashboardMiddleware:
    """Serve cached dashboards without routing; pass everything else through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = PATH.fullmatch(scope["path"])
            if match is not None and await self._answer(scope, send, int(match.group(1))):
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send, workspace_id: int) -> bool:
        state = scope["app"].state
        principals = getattr(state, "principals", None)
        cache = state.cache
        if principals is None or not cache.enabled or workspace_id > MAX_ID:
            return False
        req = _params(scope["query_string"])
        if req is None:
            return False
        request = Request(scope)
        try:
            key, _token, _from_cookie = credential_key(request, state.settings, workspace_id)
        except MetricxError:
            return False
        ctx = principals.get(key)
        if ctx is None:
            return False
        try:
            prepared = service.prepare_dashboard(ctx, req, getattr(state, "clock", system_clock))
        except MetricxError:
            return False
        headers = [
            (b"etag", prepared.etag.encode()),
            (b"cache-control", b"private, no-cache"),
        ]
        etag_header = request.headers.get("if-none-match")
        if service.etag_matches(etag_header, prepared.etag):
            status, body = 304, b""
        else:
            cached = await cache.get_if_present(prepared.key)
            if cached is None:
                return False
            status, body = 200, cached
            headers += [
                (b"x-cache", b"hit"),
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json"),
            ]
        # What the route sets on request.state, and the route for the metrics' label.
        scope.setdefault("state", {}).update(
            user_id=ctx.user_id,
            auth_kind=AUTH_API_TOKEN if key[1] else AUTH_SESSION,
        )
        scope["route"] = self._dashboard_route(scope["app"])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    def _dashboard_route(self, app: Any) -> Any:
        if self._route is None:
            self._route = next(
                (r for r in app.routes if getattr(r, "path", None) == ROUTE_PATH), None
            )
        return self._route


def _params(query_string: bytes) -> service.DashboardRequest | None:
    """The request of a preset-timeframe query, or None for anything the route must see."""
    timeframe = provider = None
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "timeframe" and timeframe is None and value in PRESETS:
            timeframe = value
        elif name == "provider" and provider is None and value in PROVIDERS:
            provider = value
        else:
            return None
    if timeframe is None:
        return None
    return service.DashboardRequest(timeframe, None, None, provider)
