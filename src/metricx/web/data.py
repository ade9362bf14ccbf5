"""The one seam between the pages and the metrics engine: the dashboard payload.

`dashboard_payload` calls `metricx.dashboard.service.build_dashboard` when it exists (the
lead wires its exact signature at merge). Until then it returns a placeholder with the
workspace, the timeframe and connection status, and no figures; tests swap the builder
for their own fixture through `set_payload_builder`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.tenancy import AuthContext
from metricx.web import queries

TIMEFRAMES = [
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("last_7_days", "Last 7 days"),
    ("last_30_days", "Last 30 days"),
    ("last_90_days", "Last 90 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
]
TIMEFRAME_KEYS = {key for key, _ in TIMEFRAMES}
DEFAULT_TIMEFRAME = "last_30_days"
MAX_CUSTOM_DAYS = 731

PayloadBuilder = Callable[[AsyncSession, AuthContext, dict[str, Any]], Awaitable[dict[str, Any]]]
_builder_override: PayloadBuilder | None = None


class TimeframeError(ValueError):
    """The timeframe in the URL cannot be used; the message says why."""


def timeframe_params(query: dict[str, str]) -> dict[str, Any]:
    """`{"timeframe": key}` or `{"timeframe": "custom", "start": date, "end": date}`."""
    start, end = query.get("start"), query.get("end")
    key = query.get("timeframe") or ("custom" if start or end else DEFAULT_TIMEFRAME)
    if key != "custom":
        if key not in TIMEFRAME_KEYS:
            raise TimeframeError(f"Unknown timeframe {key!r}; pick one from the list.")
        return {"timeframe": key}
    try:
        first, last = date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError as exc:
        raise TimeframeError("A custom range needs a start and an end date.") from exc
    if first > last:
        raise TimeframeError("The start date is after the end date.")
    if (last - first).days + 1 > MAX_CUSTOM_DAYS:
        raise TimeframeError(f"A custom range can span at most {MAX_CUSTOM_DAYS} days.")
    return {"timeframe": "custom", "start": first, "end": last}


def timeframe_query(params: dict[str, Any]) -> str:
    """The query string that reproduces a timeframe, for links and API calls."""
    if params.get("timeframe") == "custom":
        return f"timeframe=custom&start={params['start']}&end={params['end']}"
    return f"timeframe={params.get('timeframe', DEFAULT_TIMEFRAME)}"


def set_payload_builder(builder: PayloadBuilder | None) -> None:
    """Swap the payload builder (tests only); None restores the real one."""
    global _builder_override
    _builder_override = builder


def _engine_builder(cache: Any, clock: Any) -> PayloadBuilder | None:
    # Written against the metrics branch (dashboard/service.py); absent here until merged.
    try:
        from metricx.dashboard import service  # type: ignore[attr-defined]
        from metricx.metrics.timeframes import system_clock  # type: ignore[import-not-found]
    except ImportError:
        return None

    async def call(session: AsyncSession, ctx: AuthContext, tf: dict[str, Any]) -> dict[str, Any]:
        req = service.DashboardRequest(tf.get("timeframe"), tf.get("start"), tf.get("end"))
        when = clock or system_clock
        if cache is None:
            return await service.build_dashboard(session, ctx, req, when)  # type: ignore[no-any-return]
        # The same cache entry as GET /api/.../dashboard: the page and the API share the work.
        prepared = service.prepare_dashboard(ctx, req, when)
        body, _ = await service.dashboard_bytes(session, ctx, cache, req, prepared, when)
        return orjson.loads(body)  # type: ignore[no-any-return]

    return call


async def dashboard_payload(
    session: AsyncSession,
    ctx: AuthContext,
    timeframe_params: dict[str, Any],
    *,
    cache: Any = None,
    clock: Any = None,
) -> dict[str, Any]:
    """The unified dashboard payload (DESIGN.md section 6) for one workspace and timeframe."""
    builder = _builder_override or _engine_builder(cache, clock)
    if builder is None:
        return await placeholder_payload(session, ctx, timeframe_params)
    return await builder(session, ctx, timeframe_params)


async def placeholder_payload(
    session: AsyncSession, ctx: AuthContext, tf: dict[str, Any]
) -> dict[str, Any]:
    """No figures yet (metrics engine not merged): workspace, timeframe and connections only."""
    workspace = await queries.workspace_row(session, ctx.workspace_id)
    connections = await queries.connection_statuses(session, ctx.workspace_id)
    return {
        "workspace": {
            "id": ctx.workspace_id,
            "name": workspace.name if workspace else "",
            "timezone": ctx.timezone,
            "currency": ctx.currency,
        },
        "timeframe": {
            "key": tf.get("timeframe"),
            "start": tf.get("start"),
            "end": tf.get("end"),
        },
        "data_version": ctx.data_version,
        "kpis": [],
        "chart": [],
        "spend_mix": [],
        "top_creatives": [],
        "unit_economics": [],
        "attribution": None,
        "status": {"connections": connections, "freshness": {}},
    }


EntityBuilder = Callable[[AsyncSession, AuthContext, dict[str, Any]], Awaitable[dict[str, Any]]]
_entities_override: EntityBuilder | None = None


def set_entities_builder(builder: EntityBuilder | None) -> None:
    """Swap the entity-performance reader (tests only); None restores the real one."""
    global _entities_override
    _entities_override = builder


async def entity_rows(
    session: AsyncSession, ctx: AuthContext, params: dict[str, Any], *, clock: Any = None
) -> dict[str, Any] | None:
    """Entity performance `{"rows": [...], "parent": {...}|None}`; None until the engine exists.

    `params`: level, parent_id, timeframe params. Each row: id, name, provider, status,
    level, spend, revenue, roas, conversions, cpa, cpc, ctr, sparkline [{date, value}].
    """
    if _entities_override is not None:
        return await _entities_override(session, ctx, params)
    try:
        from metricx.dashboard import entities  # type: ignore[attr-defined]
        from metricx.metrics.schemas import TimeframeSpec  # type: ignore[import-not-found]
        from metricx.metrics.timeframes import system_clock  # type: ignore[import-not-found]
    except ImportError:
        return None
    spec = TimeframeSpec(
        key=params.get("timeframe"), start=params.get("start"), end=params.get("end")
    )
    req = entities.EntityRequest(
        level=params["level"], parent_id=params.get("parent_id"), timeframe=spec, page_size=200
    )
    return await entities.entity_page(session, ctx, req, clock or system_clock)  # type: ignore[no-any-return]
