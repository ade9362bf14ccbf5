"""The validated semantic query: what the engine computes, from any caller.

The shape matches what the question parser and the LLM tool produce:
{"metrics": [...], "timeframe": {"key": ...} | {"start", "end"}, "breakdown": null |
{"by", "sort", "order", "limit", "offset"}, "filters": {...}, "compare": bool}.
A bare string is accepted for timeframe ("last_7_days") and breakdown ("campaign").
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from metricx.errors import ValidationFailed
from metricx.metrics.registry import METRICS
from metricx.models.connections import AD_PROVIDERS
from metricx.models.entities import STATUSES

MAX_ID = 2**63 - 1
BreakdownBy = Literal["provider", "campaign", "adset", "ad", "day", "week"]
ENTITY_LEVELS = ("campaign", "adset", "ad")


class TimeframeSpec(BaseModel):
    """A preset key, or custom inclusive start and end dates."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(default=None, max_length=32)
    start: date | None = None
    end: date | None = None


class Breakdown(BaseModel):
    """Split the results by a dimension, sorted by a metric (or name) and limited."""

    model_config = ConfigDict(extra="forbid")

    by: BreakdownBy
    sort: str | None = Field(default=None, description="metric key or 'name'; default first metric")
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(default=50, ge=1, le=100_000)
    offset: int = Field(default=0, ge=0, le=10_000_000)
    with_data_only: bool = Field(
        default=False, description="entity rows: list only those with data in the period"
    )

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str | None) -> str | None:
        if value is not None and value != "name" and value not in METRICS:
            raise ValueError(f"unknown sort key {value!r}")
        return value


class Filters(BaseModel):
    """Restrict the ad data; order and cost metrics stay shop-wide."""

    model_config = ConfigDict(extra="forbid")

    provider: list[str] = Field(default_factory=list, max_length=10)
    entity_ids: list[int] = Field(default_factory=list, max_length=1000)
    status: list[str] = Field(default_factory=list, max_length=10)
    name_contains: str | None = Field(default=None, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)

    @field_validator("provider")
    @classmethod
    def _providers(cls, value: list[str]) -> list[str]:
        for item in value:
            if item not in AD_PROVIDERS:
                raise ValueError(f"unknown provider {item!r}")
        return sorted(set(value))

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: list[str]) -> list[str]:
        for item in value:
            if item not in STATUSES:
                raise ValueError(f"unknown status {item!r}")
        return sorted(set(value))

    @field_validator("name_contains")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # Control characters (NUL above all) are never part of a name and break drivers.
        if value is not None and any(ord(c) < 32 for c in value):
            raise ValueError("must not contain control characters")
        return value

    @field_validator("entity_ids")
    @classmethod
    def _ids(cls, value: list[int]) -> list[int]:
        for item in value:
            if not 1 <= item <= MAX_ID:
                raise ValueError("entity ids are positive 64-bit integers")
        return sorted(set(value))

    @property
    def touches_entities(self) -> bool:
        """True when the filter needs the entity tree, so rollups cannot answer."""
        return bool(self.entity_ids or self.status or self.name_contains or self.parent_id)


class SemanticQuery(BaseModel):
    """Metrics x timeframe x breakdown x filters x comparison."""

    model_config = ConfigDict(extra="forbid")

    metrics: list[str] = Field(min_length=1, max_length=30)
    timeframe: TimeframeSpec = Field(default_factory=TimeframeSpec)
    breakdown: Breakdown | None = None
    filters: Filters = Field(default_factory=Filters)
    compare: bool = True
    series: bool = Field(default=False, description="daily totals over the period")
    row_series: bool = Field(default=False, description="daily values per breakdown row")
    totals: bool = Field(default=True, description="compute period totals")

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        for key in value:
            if key not in METRICS:
                raise ValueError(f"unknown metric {key!r}; known: {', '.join(METRICS)}")
        return list(dict.fromkeys(value))

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("timeframe"), str):
                data["timeframe"] = {"key": data["timeframe"]}
            if isinstance(data.get("breakdown"), str):
                data["breakdown"] = {"by": data["breakdown"]}
        return data

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SemanticQuery:
        """Validate a dict, turning validation errors into a 422 naming the fields."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            fields = sorted({".".join(str(p) for p in e["loc"]) or "query" for e in errors})
            detail = f"{fields[0]}: {errors[0]['msg']}" if errors else "invalid query"
            raise ValidationFailed(detail, fields=fields) from exc
