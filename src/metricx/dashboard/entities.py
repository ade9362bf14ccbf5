"""Entity performance rows and their CSV export, from the engine's entity breakdown."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.dashboard import queries
from metricx.errors import NotFound, ValidationFailed
from metricx.metrics import engine
from metricx.metrics.registry import METRICS
from metricx.metrics.schemas import Filters, SemanticQuery, TimeframeSpec
from metricx.metrics.timeframes import Clock, resolve
from metricx.tenancy import AuthContext

ENTITY_METRICS = [
    "spend",
    "revenue",
    "roas",
    "conversions",
    "cpa",
    "cpc",
    "ctr",
    "cpm",
    "impressions",
    "clicks",
]
EXPORT_MAX_ROWS = 100_000
EXPORT_PAGE = 10_000
SPARKLINE_MAX_DAYS = 92
ENTITY_FIELDS = ("id", "name", "level", "provider", "status", "parent_id", "thumbnail_url")
DRILLABLE = ("campaign", "adset")


@dataclass(frozen=True, slots=True)
class EntityRequest:
    """Normalised parameters of the entity listing."""

    level: str = "campaign"
    parent_id: int | None = None
    timeframe: TimeframeSpec = field(default_factory=TimeframeSpec)
    sort: str = "spend"
    order: str = "desc"
    page: int = 1
    page_size: int = 50
    filters: Filters = field(default_factory=Filters)
    sparkline: bool = True


def _query(
    req: EntityRequest, *, limit: int, offset: int, series: bool, compare: bool = True
) -> SemanticQuery:
    return SemanticQuery.parse(
        {
            "metrics": ENTITY_METRICS,
            "timeframe": req.timeframe.model_dump(),
            "filters": {**req.filters.model_dump(), "parent_id": req.parent_id},
            "compare": compare,
            "totals": False,
            "row_series": series,
            "breakdown": {
                "by": req.level,
                "sort": req.sort,
                "order": req.order,
                "limit": limit,
                "offset": offset,
            },
        }
    )


async def _parent(
    session: AsyncSession, ctx: AuthContext, parent_id: int | None
) -> dict[str, Any] | None:
    """The parent entity with its own parent's name; 404 when not in the workspace."""
    if parent_id is None:
        return None
    parent = await queries.entity_with_parent(session, ctx, parent_id)
    if parent is None:
        raise NotFound("Parent entity not found.", fields=["parent_id"])
    return parent


async def entity_page(
    session: AsyncSession, ctx: AuthContext, req: EntityRequest, clock: Clock
) -> dict[str, Any]:
    """One sorted page of entity rows with totals count and sparklines.

    `parent` names the drilled-into entity and its parent, so a breadcrumb needs no
    second request.
    """
    parent = await _parent(session, ctx, req.parent_id)
    offset = (req.page - 1) * req.page_size
    spec = req.timeframe
    days = resolve(spec.key, spec.start, spec.end, tz=ctx.timezone, clock=clock).days
    # Sparklines cost one row per entity and day; long ranges would swamp the page.
    series = req.sparkline and days <= SPARKLINE_MAX_DAYS
    query = _query(req, limit=req.page_size, offset=offset, series=series)
    result = await engine.run(session, ctx, query, clock=clock)
    rows = [_row(r) for r in result.rows]
    if req.level in DRILLABLE:
        parents = await queries.with_children(session, ctx, [r["id"] for r in rows])
        for row in rows:
            row["has_children"] = row["id"] in parents
    return {
        "timeframe": result.timeframe.to_dict(),
        "data_version": ctx.data_version,
        "level": req.level,
        "parent_id": req.parent_id,
        "parent": parent,
        "sort": req.sort,
        "order": req.order,
        "page": req.page,
        "page_size": req.page_size,
        "total": result.total_rows,
        "rows": rows,
    }


def _row(row: engine.ResultRow) -> dict[str, Any]:
    entity = row.entity or {}
    return {
        **{f: entity.get(f) for f in ENTITY_FIELDS},
        **{k: row.values.get(k) for k in ENTITY_METRICS},
        "previous": row.previous,
        "delta_pct": row.delta_pct,
        "sparkline": (
            [{"date": p["date"], "value": p["spend"]} for p in row.series]
            if row.series is not None
            else None
        ),
    }


class ExportTooLarge(ValidationFailed):
    """The export would exceed EXPORT_MAX_ROWS rows; narrow it with filters."""

    code = "export_too_large"


async def export_csv(
    session: AsyncSession, ctx: AuthContext, req: EntityRequest, clock: Clock
) -> list[bytes]:
    """The listing as CSV chunks; 422 export_too_large past EXPORT_MAX_ROWS rows.

    Rows are fetched a page at a time and turned into CSV text (in a thread) at once, so
    memory holds one page of rows plus compact text, never 100k row objects. A silently
    truncated export would look complete in a spreadsheet, so going over is an error.
    """
    await _parent(session, ctx, req.parent_id)
    cap = EXPORT_MAX_ROWS
    chunks = [_csv_text([], header=True)]
    offset = 0
    while offset < cap:
        page = min(EXPORT_PAGE, cap - offset)
        query = _query(req, limit=page, offset=offset, series=False, compare=False)
        rows = (await engine.run(session, ctx, query, clock=clock)).rows
        chunks.append(await asyncio.to_thread(_csv_text, rows))
        offset += len(rows)
        if len(rows) < page:
            return chunks
    probe = _query(req, limit=1, offset=cap, series=False, compare=False)
    if (await engine.run(session, ctx, probe, clock=clock)).rows:
        raise ExportTooLarge(
            f"The export has more than {cap:,} rows; narrow it by level, parent, status, "
            "provider or search.",
            fields=["level", "parent_id", "status", "provider", "q"],
        )
    return chunks


def _fmt(key: str, value: float | None) -> str:
    if value is None:
        return ""
    if METRICS[key].unit == "currency":
        return f"{value:.2f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _csv_text(rows: list[engine.ResultRow], *, header: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow([*ENTITY_FIELDS[:-1], *ENTITY_METRICS])
    for row in rows:
        entity = row.entity or {}
        writer.writerow(
            [
                *(_safe(entity.get(f)) for f in ENTITY_FIELDS[:-1]),
                *(_fmt(k, row.values.get(k)) for k in ENTITY_METRICS),
            ]
        )
    return buffer.getvalue().encode()


def _safe(value: Any) -> str:
    """Neutralise spreadsheet formulas in names (CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
