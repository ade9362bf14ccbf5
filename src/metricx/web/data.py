"""The one seam between the pages and the metrics engine: the dashboard payload and the
entity rows, from the same services (and the same cache entry) as the JSON API.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.dashboard import entities, service
from metricx.metrics.schemas import TimeframeSpec
from metricx.metrics.timeframes import system_clock
from metricx.tenancy import AuthContext

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


async def dashboard_payload(
    session: AsyncSession,
    ctx: AuthContext,
    timeframe_params: dict[str, Any],
    *,
    cache: Any = None,
    clock: Any = None,
) -> dict[str, Any]:
    """The unified dashboard payload (DESIGN.md section 6) for one workspace and timeframe."""
    tf = timeframe_params
    req = service.DashboardRequest(tf.get("timeframe"), tf.get("start"), tf.get("end"))
    when = clock or system_clock
    if cache is None:
        return await service.build_dashboard(session, ctx, req, when)
    # The same cache entry as GET /api/.../dashboard: the page and the API share the work.
    prepared = service.prepare_dashboard(ctx, req, when)
    body, _ = await service.dashboard_bytes(session, ctx, cache, req, prepared, when)
    return orjson.loads(body)  # type: ignore[no-any-return]


async def entity_rows(
    session: AsyncSession, ctx: AuthContext, params: dict[str, Any], *, clock: Any = None
) -> dict[str, Any]:
    """Entity performance: `rows` plus the drilled-into `parent` (name and its parent's).

    `params`: level, parent_id, timeframe params. Each row: id, name, provider, status,
    level, spend, revenue, roas, conversions, cpa, cpc, ctr, sparkline [{date, value}].
    """
    spec = TimeframeSpec(
        key=params.get("timeframe"), start=params.get("start"), end=params.get("end")
    )
    req = entities.EntityRequest(
        level=params["level"], parent_id=params.get("parent_id"), timeframe=spec, page_size=200
    )
    return await entities.entity_page(session, ctx, req, clock or system_clock)
