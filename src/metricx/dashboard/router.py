"""HTTP for the dashboard, KPI widgets, entity performance and the CSV export.

Routes parse, authorize (WorkspaceCtx: a foreign workspace is 404) and delegate.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import Response, StreamingResponse

from metricx.auth.deps import WorkspaceCtx
from metricx.dashboard import entities, service
from metricx.dashboard.schemas import (
    DashboardPayload,
    EntityPage,
    ErrorOut,
    KpiPayload,
    KpiRequest,
    SortKey,
)
from metricx.deps import CacheDep, SessionDep
from metricx.errors import ValidationFailed
from metricx.metrics.deps import ClockDep
from metricx.metrics.registry import METRICS
from metricx.metrics.schemas import MAX_ID, Filters, TimeframeSpec
from metricx.metrics.timeframes import TIMEFRAME_KEYS

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "Malformed request body"),
        (401, "Not signed in"),
        (404, "Workspace (or parent entity) not found, or not yours"),
        (413, "Request body too large"),
        (422, "Invalid parameter; `fields` names it"),
    )
}
router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["dashboard"], responses=_ERRORS)

TimeframeKey = Literal[
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "this_month",
    "last_month",
    "custom",
]
assert set(TimeframeKey.__args__) == set(TIMEFRAME_KEYS)  # type: ignore[attr-defined]
Provider = Literal["meta", "google", "tiktok", "csv"]
TimeframeQ = Annotated[TimeframeKey | None, Query(description="preset; or give start and end")]
StartQ = Annotated[date | None, Query(description="custom start (inclusive, ISO date)")]
EndQ = Annotated[date | None, Query(description="custom end (inclusive, ISO date)")]
ListQ = Annotated[str | None, Query(max_length=200, description="comma-separated values")]
Level = Literal["campaign", "adset", "ad"]


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _filters(provider: list[str], status: list[str], q: str | None) -> Filters:
    try:
        return Filters(provider=provider, status=status, name_contains=q or None)
    except ValidationError as exc:
        names = {"name_contains": "q"}
        fields = sorted({names.get(str(e["loc"][0]), str(e["loc"][0])) for e in exc.errors()})
        raise ValidationFailed(f"{fields[0]}: {exc.errors()[0]['msg']}", fields=fields) from exc


def _metrics(value: str | None) -> list[str]:
    keys = _split(value) or service.KPI_KEYS
    for key in keys:
        if key not in METRICS:
            raise ValidationFailed(f"Unknown metric {key!r}.", fields=["metrics"])
    if len(keys) > 30:
        raise ValidationFailed("At most 30 metrics.", fields=["metrics"])
    return keys


@router.get(
    "/dashboard",
    response_model=DashboardPayload,
    responses={304: {"description": "Not modified (If-None-Match matched the ETag)"}},
)
async def dashboard(
    request: Request,
    ctx: WorkspaceCtx,
    session: SessionDep,
    cache: CacheDep,
    clock: ClockDep,
    timeframe: TimeframeQ = None,
    start: StartQ = None,
    end: EndQ = None,
    provider: Provider | None = None,
) -> Response:
    """Everything the dashboard shows, in one cached request (ETag / 304)."""
    req = service.DashboardRequest(timeframe, start, end, provider)
    prepared = service.prepare_dashboard(ctx, req, clock)
    headers = {"ETag": prepared.etag, "Cache-Control": "private, no-cache"}
    if service.etag_matches(request.headers.get("if-none-match"), prepared.etag):
        return Response(status_code=304, headers=headers)
    body, cached = await service.dashboard_bytes(session, ctx, cache, req, prepared, clock)
    headers["X-Cache"] = "hit" if cached else "miss"
    return Response(body, media_type="application/json", headers=headers)


@router.get("/dashboard/kpis", response_model=KpiPayload)
async def dashboard_kpis(
    ctx: WorkspaceCtx,
    session: SessionDep,
    clock: ClockDep,
    metrics: ListQ = None,
    timeframe: TimeframeQ = None,
    start: StartQ = None,
    end: EndQ = None,
    provider: Provider | None = None,
    compare: bool = True,
    sparkline: bool = True,
) -> dict[str, Any]:
    """KPI widgets by query parameters (metrics comma-separated)."""
    return await service.kpis(
        session,
        ctx,
        metrics=_metrics(metrics),
        timeframe=TimeframeSpec(key=timeframe, start=start, end=end),
        filters=_filters([provider] if provider else [], [], None),
        compare=compare,
        sparkline=sparkline,
        clock=clock,
    )


@router.post("/kpis", response_model=KpiPayload)
async def post_kpis(
    ctx: WorkspaceCtx, session: SessionDep, clock: ClockDep, body: KpiRequest
) -> dict[str, Any]:
    """KPI widgets for API clients: metrics, timeframe, filters, compare, sparkline."""
    return await service.kpis(
        session,
        ctx,
        metrics=body.metrics,
        timeframe=body.timeframe,
        filters=body.filters,
        compare=body.compare,
        sparkline=body.sparkline,
        clock=clock,
    )


def _entity_request(
    level: str,
    parent_id: int | None,
    timeframe: str | None,
    start: date | None,
    end: date | None,
    sort: str,
    order: str,
    page: int,
    page_size: int,
    status: str | None,
    provider: str | None,
    q: str | None,
    sparkline: bool,
) -> entities.EntityRequest:
    return entities.EntityRequest(
        level=level,
        parent_id=parent_id,
        timeframe=TimeframeSpec(key=timeframe, start=start, end=end),
        sort=sort,
        order=order,
        page=page,
        page_size=page_size,
        filters=_filters(_split(provider), _split(status), q),
        sparkline=sparkline,
    )


@router.get("/entities", response_model=EntityPage)
async def list_entities(
    ctx: WorkspaceCtx,
    session: SessionDep,
    clock: ClockDep,
    level: Level = "campaign",
    parent_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    timeframe: TimeframeQ = None,
    start: StartQ = None,
    end: EndQ = None,
    sort: SortKey = "spend",  # type: ignore[valid-type]
    order: Literal["asc", "desc"] = "desc",
    page: Annotated[int, Query(ge=1, le=20_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    status: ListQ = None,
    provider: ListQ = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sparkline: bool = True,
) -> dict[str, Any]:
    """Entity performance rows: paginated, sortable by any ad metric or name, drill-down."""
    req = _entity_request(
        level, parent_id, timeframe, start, end, sort, order, page, page_size,
        status, provider, q, sparkline,
    )  # fmt: skip
    return await entities.entity_page(session, ctx, req, clock)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "entity rows as CSV"}},
)
async def export_csv(
    ctx: WorkspaceCtx,
    session: SessionDep,
    clock: ClockDep,
    level: Level = "campaign",
    parent_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    timeframe: TimeframeQ = None,
    start: StartQ = None,
    end: EndQ = None,
    sort: SortKey = "spend",  # type: ignore[valid-type]
    order: Literal["asc", "desc"] = "desc",
    status: ListQ = None,
    provider: ListQ = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> StreamingResponse:
    """The entity rows as CSV (money with two decimals), at most 100,000 rows."""
    req = _entity_request(
        level, parent_id, timeframe, start, end, sort, order, 1, entities.EXPORT_MAX_ROWS,
        status, provider, q, False,
    )  # fmt: skip
    chunks = await entities.export_csv(session, ctx, req, clock)
    filename = f"metricx-{level}-{ctx.workspace_id}.csv"
    return StreamingResponse(
        iter(chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
