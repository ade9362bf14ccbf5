"""The semantic query: the one validated shape a question becomes before anything is computed.

Both the deterministic parser and the LLM tool produce it, and the query engine executes it.
Validation is strict (unknown keys and metrics are refused) so a model cannot smuggle
anything past it.

Conventions the engine must honour:
- A breakdown is sorted by the first metric of `metrics`.
- For `provider|campaign|adset|ad` the order defaults to "desc" and the limit to 10.
- For `day|week` an absent order means chronological and an absent limit means every bucket;
  an explicit order ranks the buckets by the metric ("which day had the highest spend").
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from metricx.metrics.registry import METRICS
from metricx.metrics.timeframes import MAX_DAYS, PRESETS
from metricx.models.connections import AD_PROVIDERS
from metricx.models.entities import STATUSES

# The registry's metrics and the engine's named periods: one list for parser, LLM and engine.
METRIC_KEYS: tuple[str, ...] = tuple(METRICS)
TIMEFRAME_KEYS: tuple[str, ...] = PRESETS
MAX_SPAN_DAYS = MAX_DAYS
MAX_LIMIT = 50
DEFAULT_ENTITY_LIMIT = 10
MAX_METRICS = 8

BreakdownBy = Literal["provider", "campaign", "adset", "ad", "day", "week"]
TIME_BREAKDOWNS = ("day", "week")
Order = Literal["desc", "asc"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeframe(_Strict):
    """Either a named key or inclusive custom dates (never both)."""

    key: str | None = None
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Timeframe:
        if self.key is not None:
            if self.start is not None or self.end is not None:
                raise ValueError("give either key or start/end, not both")
            if self.key not in TIMEFRAME_KEYS:
                raise ValueError(f"unknown timeframe key {self.key!r}")
            return self
        if self.start is None or self.end is None:
            raise ValueError("a custom timeframe needs both start and end")
        if self.start > self.end:
            raise ValueError("start is after end")
        if (self.end - self.start).days + 1 > MAX_SPAN_DAYS:
            raise ValueError(f"a timeframe spans at most {MAX_SPAN_DAYS} days")
        return self

    @classmethod
    def named(cls, key: str) -> Timeframe:
        return cls(key=key)

    @classmethod
    def between(cls, start: date, end: date) -> Timeframe:
        return cls(start=start, end=end)


class Breakdown(_Strict):
    by: BreakdownBy
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)
    order: Order | None = None

    @model_validator(mode="after")
    def _defaults(self) -> Breakdown:
        if self.by not in TIME_BREAKDOWNS:
            if self.limit is None:
                object.__setattr__(self, "limit", DEFAULT_ENTITY_LIMIT)
            if self.order is None:
                object.__setattr__(self, "order", "desc")
        return self

    @property
    def is_time(self) -> bool:
        return self.by in TIME_BREAKDOWNS


class Filters(_Strict):
    provider: list[Literal[AD_PROVIDERS]] = Field(default_factory=list)  # type: ignore[valid-type]
    name_contains: str | None = Field(default=None, min_length=1, max_length=200)
    status: list[Literal[STATUSES]] = Field(default_factory=list)  # type: ignore[valid-type]
    entity_ids: list[int] = Field(default_factory=list, max_length=200)

    @field_validator("provider", "status")
    @classmethod
    def _sorted_unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class SemanticQuery(_Strict):
    metrics: list[str] = Field(min_length=1, max_length=MAX_METRICS)
    timeframe: Timeframe
    breakdown: Breakdown | None = None
    filters: Filters = Field(default_factory=Filters)
    compare: bool = False

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in METRIC_KEYS]
        if unknown:
            raise ValueError(f"unknown metric(s): {', '.join(unknown)}")
        if len(set(value)) != len(value):
            raise ValueError("metrics repeat")
        return value

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form (dates as ISO strings, empty filters dropped)."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["filters"] = {k: v for k, v in data["filters"].items() if v not in ([], None)}
        data.setdefault("breakdown", None)
        return data


def semantic_query_schema() -> dict[str, Any]:
    """A self-contained JSON schema of the query, written for the LLM tool's `input_schema`.

    Hand-written rather than generated so enums are inline (no $ref) and descriptions guide
    the model; the pydantic model stays the judge of what is valid.
    """
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["metrics", "timeframe"],
        "properties": {
            "metrics": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_METRICS,
                "items": {"type": "string", "enum": list(METRIC_KEYS)},
                "description": "Metrics to compute; a breakdown is sorted by the first one. "
                "revenue is platform-reported conversion value; order_revenue is store "
                "(Shopify) revenue net of refunds; conversions are platform-reported purchases.",
            },
            "timeframe": {
                "description": "A named period, or inclusive custom dates (YYYY-MM-DD).",
                "anyOf": [
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["key"],
                        "properties": {"key": {"type": "string", "enum": list(TIMEFRAME_KEYS)}},
                    },
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["start", "end"],
                        "properties": {
                            "start": {"type": "string", "format": "date"},
                            "end": {"type": "string", "format": "date"},
                        },
                    },
                ],
            },
            "breakdown": {
                "anyOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["by"],
                        "properties": {
                            "by": {"type": "string", "enum": list(get_args(BreakdownBy))},
                            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                            "order": {"type": "string", "enum": ["desc", "asc"]},
                        },
                    },
                ]
            },
            "filters": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "provider": {
                        "type": "array",
                        "items": {"type": "string", "enum": list(AD_PROVIDERS)},
                    },
                    "name_contains": {"type": "string", "minLength": 1, "maxLength": 200},
                    "status": {
                        "type": "array",
                        "items": {"type": "string", "enum": list(STATUSES)},
                    },
                    "entity_ids": {"type": "array", "items": {"type": "integer"}},
                },
            },
            "compare": {
                "type": "boolean",
                "description": "Also compute the previous period of equal length.",
            },
        },
    }
