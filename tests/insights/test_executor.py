"""The adapter's translation of an insights query into the engine's (no database)."""

from __future__ import annotations

from datetime import date

from metricx.insights.executor import to_engine_query
from metricx.insights.semantic import SemanticQuery


def _q(**kw: object) -> SemanticQuery:
    return SemanticQuery.model_validate({"timeframe": {"key": "last_7_days"}, **kw})


def test_a_ranking_sorts_by_the_first_metric_with_its_order_and_limit() -> None:
    q = to_engine_query(_q(metrics=["cpa", "spend"], breakdown={"by": "campaign", "limit": 3,
                                                                 "order": "asc"}))  # fmt: skip
    assert q.breakdown is not None
    assert (q.breakdown.by, q.breakdown.sort, q.breakdown.order, q.breakdown.limit) == (
        "campaign", "cpa", "asc", 3,
    )  # fmt: skip
    assert q.compare is False and q.totals is True


def test_a_timeline_is_chronological_with_every_bucket() -> None:
    q = to_engine_query(_q(metrics=["spend"], breakdown={"by": "day"}))
    assert q.breakdown is not None
    assert (q.breakdown.sort, q.breakdown.order) == (None, "asc")
    assert q.breakdown.limit > 731


def test_a_ranked_timeline_sorts_by_the_metric() -> None:
    q = to_engine_query(_q(metrics=["revenue"], breakdown={"by": "day", "limit": 1,
                                                            "order": "desc"}))  # fmt: skip
    assert q.breakdown is not None
    assert (q.breakdown.sort, q.breakdown.order, q.breakdown.limit) == ("revenue", "desc", 1)


def test_entity_rows_ranked_by_a_shop_metric_use_the_engine_default() -> None:
    q = to_engine_query(_q(metrics=["orders", "spend"], breakdown={"by": "campaign"}))
    assert q.breakdown is not None and q.breakdown.sort is None


def test_custom_dates_and_filters_carry_over() -> None:
    q = to_engine_query(
        SemanticQuery.model_validate(
            {
                "metrics": ["spend"],
                "timeframe": {"start": "2026-11-01", "end": "2026-11-15"},
                "filters": {"provider": ["meta"], "name_contains": "Sale", "status": ["active"]},
                "compare": True,
            }
        )
    )
    assert (q.timeframe.key, q.timeframe.start, q.timeframe.end) == (
        None, date(2026, 11, 1), date(2026, 11, 15),
    )  # fmt: skip
    assert q.filters.provider == ["meta"] and q.filters.name_contains == "Sale"
    assert q.filters.status == ["active"] and q.compare is True
