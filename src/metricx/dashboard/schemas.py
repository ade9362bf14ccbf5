"""Response and request shapes of the dashboard, KPI and entity endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from metricx.metrics.registry import METRICS
from metricx.metrics.schemas import Filters, TimeframeSpec

# The registry's keys as an enum, so the OpenAPI document lists every metric.
MetricKey = Literal[tuple(METRICS)]  # type: ignore[valid-type]
SortKey = Literal[("name", *METRICS)]  # type: ignore[valid-type]


class ErrorOut(BaseModel):
    """The one error shape of the API."""

    error: str
    detail: str
    fields: list[str]


class WorkspaceInfo(BaseModel):
    id: int
    name: str
    timezone: str
    currency: str


class TimeframeOut(BaseModel):
    key: str
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date


class Point(BaseModel):
    date: dt.date
    value: float | None


class Kpi(BaseModel):
    key: str
    label: str
    unit: Literal["currency", "count", "ratio", "percent"]
    direction: Literal["higher", "lower"]
    value: float | None
    previous: float | None
    delta_pct: float | None
    sparkline: list[Point] | None = None


class ChartPoint(BaseModel):
    date: dt.date
    spend: float | None
    revenue: float | None
    order_revenue: float | None
    previous_date: dt.date
    previous_spend: float | None
    previous_revenue: float | None
    previous_order_revenue: float | None


class SpendShare(BaseModel):
    provider: str
    spend: float | None
    previous_spend: float | None
    share: float | None


class Creative(BaseModel):
    entity_id: int
    name: str
    provider: str
    status: str
    thumbnail: str | None
    spend: float | None
    revenue: float | None
    roas: float | None
    conversions: float | None


class CampaignEconomics(BaseModel):
    entity_id: int
    name: str
    provider: str
    status: str
    spend: float | None
    revenue: float | None
    roas: float | None
    conversions: float | None
    cpa: float | None
    cpc: float | None
    ctr: float | None
    impressions: float | None
    clicks: float | None


class ConnectionStatus(BaseModel):
    id: int
    provider: str
    name: str
    status: str
    last_success_at: dt.datetime | None
    last_error: str | None


class Freshness(BaseModel):
    last_success_at: dt.datetime | None
    connected_providers: list[str]
    has_shopify: bool


class Status(BaseModel):
    connections: list[ConnectionStatus]
    freshness: Freshness


class DashboardPayload(BaseModel):
    workspace: WorkspaceInfo
    timeframe: TimeframeOut
    data_version: int
    kpis: list[Kpi]
    chart: list[ChartPoint]
    spend_mix: list[SpendShare]
    top_creatives: list[Creative]
    unit_economics: list[CampaignEconomics]
    attribution: dict[str, object] | None
    status: Status


class KpiPayload(BaseModel):
    timeframe: TimeframeOut
    data_version: int
    kpis: list[Kpi]


class KpiRequest(BaseModel):
    """Body of POST /kpis."""

    model_config = ConfigDict(extra="forbid")

    metrics: list[MetricKey] = Field(min_length=1, max_length=30)  # type: ignore[valid-type]
    timeframe: TimeframeSpec = Field(default_factory=TimeframeSpec)
    compare: bool = True
    sparkline: bool = True
    filters: Filters = Field(default_factory=Filters)

    @field_validator("timeframe", mode="before")
    @classmethod
    def _key_shorthand(cls, value: object) -> object:
        return {"key": value} if isinstance(value, str) else value


class EntityRowOut(BaseModel):
    id: int
    name: str
    level: str
    provider: str
    status: str
    parent_id: int | None
    thumbnail_url: str | None
    spend: float | None
    revenue: float | None
    roas: float | None
    conversions: float | None
    cpa: float | None
    cpc: float | None
    ctr: float | None
    cpm: float | None
    impressions: float | None
    clicks: float | None
    previous: dict[str, float | None] | None
    delta_pct: dict[str, float | None] | None
    sparkline: list[Point] | None
    # False for a leaf above ad level (a Performance Max campaign): nothing to drill into.
    has_children: bool | None = None


class EntityParentOut(BaseModel):
    """The entity a drill-down is inside, with its own parent's name (for breadcrumbs)."""

    id: int
    name: str
    level: str
    provider: str
    parent_id: int | None
    parent_name: str | None
    parent_level: str | None


class EntityPage(BaseModel):
    timeframe: TimeframeOut
    data_version: int
    level: str
    parent_id: int | None
    parent: EntityParentOut | None = None
    sort: str
    order: Literal["asc", "desc"]
    page: int
    page_size: int
    total: int
    rows: list[EntityRowOut]
