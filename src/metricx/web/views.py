"""Workspace pages: dashboard, campaigns, ask and settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from metricx.deps import SessionDep
from metricx.errors import MetricxError
from metricx.web import data, present, queries
from metricx.web.pages import workspace_page
from metricx.web.templating import render

router = APIRouter(include_in_schema=False)

LEVELS = ("campaign", "adset", "ad")
CHILD_LEVEL = {"campaign": "adset", "adset": "ad"}
LEVEL_LABELS = {"campaign": "Campaigns", "adset": "Ad sets", "ad": "Ads"}


def _clock(request: Request) -> Any:
    """The clock the API resolves timeframes against (tests may freeze it on app.state)."""
    return getattr(request.app.state, "clock", None)


def _timeframe(request: Request) -> tuple[dict[str, Any], str | None]:
    try:
        return data.timeframe_params(dict(request.query_params)), None
    except data.TimeframeError as exc:
        return {"timeframe": data.DEFAULT_TIMEFRAME}, str(exc)


def _picker(request: Request, tf: dict[str, Any]) -> dict[str, Any]:
    """Preset links that keep the page's other query parameters, plus the custom range."""
    kept = {
        k: v
        for k, v in request.query_params.items()
        if k not in ("timeframe", "start", "end", "page")
    }
    options = [
        {
            "key": key,
            "label": label,
            "href": "?" + urlencode({**kept, "timeframe": key}),
            "current": tf.get("timeframe") == key,
        }
        for key, label in data.TIMEFRAMES
    ]
    return {
        "options": options,
        "custom": tf.get("timeframe") == "custom",
        "start": str(tf.get("start") or ""),
        "end": str(tf.get("end") or ""),
        "kept": kept,
        "query": data.timeframe_query(tf),
    }


@router.get("/w/{workspace_id}")
async def dashboard(request: Request, session: SessionDep, workspace_id: str) -> Response:
    """The dashboard, rendered from the unified payload: no client fetch for first paint."""
    page = await workspace_page(request, session, workspace_id)
    tf, error = _timeframe(request)
    view = None
    if error is None:
        try:
            payload = await data.dashboard_payload(
                session, page.ctx, tf, cache=request.app.state.cache, clock=_clock(request)
            )
            view = present.dashboard_view(payload)
        except MetricxError as exc:
            error = exc.detail
    return render(
        request,
        "dashboard.html",
        {
            **page.common("dashboard"),
            "picker": _picker(request, tf),
            "view": view,
            "error": error,
        },
    )


@router.get("/w/{workspace_id}/campaigns")
async def campaigns(request: Request, session: SessionDep, workspace_id: str) -> Response:
    """Entity performance with drill-down campaign → ad set → ad and CSV export."""
    page = await workspace_page(request, session, workspace_id)
    tf, error = _timeframe(request)
    query = request.query_params
    level = query.get("level") or ("adset" if query.get("parent_id") else "campaign")
    if level not in LEVELS:
        level, error = "campaign", error or "Unknown level; showing campaigns."
    parent_id = query.get("parent_id", "")
    parent_id = parent_id if parent_id.isdigit() else ""
    result = None
    if error is None:
        params: dict[str, Any] = {"level": level, **tf}
        if parent_id:
            params["parent_id"] = int(parent_id)
        try:
            result = await data.entity_rows(session, page.ctx, params, clock=_clock(request))
        except MetricxError as exc:
            error = exc.detail
    rows = [
        present.entity_view(r, page.ctx.currency)
        for r in (result or {}).get("rows") or (result or {}).get("items") or []
        if isinstance(r, dict)
    ]
    export = {"level": level, **({"parent_id": parent_id} if parent_id else {})}
    tf_query = data.timeframe_query(tf)
    child = CHILD_LEVEL.get(level)
    for row in rows:
        row["href"] = (
            f"?{tf_query}&" + urlencode({"level": child, "parent_id": row["id"]})
            if child and row["id"] is not None and row["has_children"] is not False
            else None
        )
    # The service names the drilled-into entity and its parent (never looked up here).
    parent = (result or {}).get("parent")
    if not isinstance(parent, dict):
        parent = None
    return render(
        request,
        "campaigns.html",
        {
            **page.common("campaigns"),
            "picker": _picker(request, tf),
            "rows": rows,
            "level": level,
            "level_label": LEVEL_LABELS[level],
            "parent": parent,
            "available": result is not None,
            "error": error,
            "tf_query": tf_query,
            "export_href": f"/api/workspaces/{page.ctx.workspace_id}/export.csv?{tf_query}&"
            + urlencode(export),
        },
    )


@router.get("/w/{workspace_id}/ask")
async def ask(request: Request, session: SessionDep, workspace_id: str) -> Response:
    """The question box; the answer streams in from the questions API (ask.js)."""
    page = await workspace_page(request, session, workspace_id)
    question = (request.query_params.get("q") or "")[:500]
    return render(request, "ask.html", {**page.common("ask"), "question": question})


@router.get("/w/{workspace_id}/settings")
async def settings(request: Request, session: SessionDep, workspace_id: str) -> Response:
    """Workspace settings; members, invites and connections are loaded by settings.js."""
    page = await workspace_page(request, session, workspace_id)
    workspace = await queries.workspace_row(session, page.ctx.workspace_id)
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return render(
        request,
        "settings.html",
        {
            **page.common("settings"),
            "workspace": workspace,
            "origin": origin,
            "timezones": _timezones(),
            "currencies": _currencies(),
            "attribution_models": present.attribution_models(),
            "attribution_windows": present.attribution_windows(),
        },
    )


def _timezones() -> list[str]:
    from zoneinfo import available_timezones

    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def _currencies() -> list[str]:
    from metricx.workspaces.service import CURRENCY_CODES

    return sorted(CURRENCY_CODES)
