"""The semantic layer against a plain-Python recomputation, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from metricx.db import Database
from metricx.errors import ValidationFailed
from metricx.metrics import engine
from metricx.metrics.registry import METRICS
from metricx.metrics.schemas import SemanticQuery
from metricx.tenancy import AuthContext
from tests.metrics import expected
from tests.metrics.dataset import Dataset, build

NOW = datetime(2026, 3, 15, 23, 30, tzinfo=UTC)
TODAY = date(2026, 3, 15)


def clock() -> datetime:
    return NOW


def _ctx(ds: Dataset, tz: str = "UTC") -> AuthContext:
    return AuthContext(
        user_id=ds.tenant.user_id, workspace_id=ds.tenant.workspace_id, role="owner", timezone=tz
    )


async def _run(db: Database, ds: Dataset, query: dict) -> engine.QueryResult:
    async with db.transaction() as s:
        return await engine.run(s, _ctx(ds), SemanticQuery.parse(query), clock=clock)


async def test_every_metric_matches_plain_python_totals(db: Database) -> None:
    ds = await build(db, today=TODAY)
    result = await _run(
        db, ds, {"metrics": list(METRICS), "timeframe": "last_30_days", "compare": True}
    )
    tf = result.timeframe
    assert (tf.start, tf.end) == (date(2026, 2, 13), date(2026, 3, 14))
    want = expected.metrics(expected.base_sums(ds, tf.start, tf.end))
    prev = expected.metrics(expected.base_sums(ds, tf.previous_start, tf.previous_end))
    for key, metric in METRICS.items():
        assert expected.close(metric.unit, result.totals[key], want[key]), key
        assert expected.close(metric.unit, result.previous[key], prev[key]), key


async def test_filters_by_entity_status_and_name_read_the_facts(db: Database) -> None:
    ds = await build(db, today=TODAY)
    meta_campaign = next(i for i, e in ds.entities.items() if e[3] == "meta m1")
    result = await _run(
        db,
        ds,
        {
            "metrics": ["spend"],
            "timeframe": "last_7_days",
            "filters": {"entity_ids": [meta_campaign]},
        },
    )
    tf = result.timeframe
    want = sum(
        f.spend_micros
        for _, f in ds.facts
        if tf.start <= f.event_date <= tf.end
        and ds.ancestor(f.entity_id, "campaign") == meta_campaign
    )
    assert result.totals["spend"] == round(want / 1e6, 2)
    paused = await _run(
        db,
        ds,
        {"metrics": ["spend"], "timeframe": "last_7_days", "filters": {"status": ["paused"]}},
    )
    named = await _run(
        db,
        ds,
        {"metrics": ["spend"], "timeframe": "last_7_days", "filters": {"name_contains": "M2"}},
    )
    want_paused = sum(
        f.spend_micros
        for _, f in ds.facts
        if tf.start <= f.event_date <= tf.end
        and ds.entities[ds.ancestor(f.entity_id, "campaign")][4] == "paused"
    )
    assert paused.totals["spend"] == named.totals["spend"] == round(want_paused / 1e6, 2)


async def test_breakdowns_sum_to_totals(db: Database) -> None:
    ds = await build(db, today=TODAY)
    q = {"metrics": ["spend", "revenue", "roas", "orders"], "timeframe": "last_30_days"}
    total = await _run(db, ds, q)
    for by in ("provider", "campaign", "day", "week"):
        res = await _run(db, ds, {**q, "breakdown": {"by": by, "limit": 1000}})
        spend = sum(r.values["spend"] or 0 for r in res.rows)
        assert abs(spend - total.totals["spend"]) < 0.01 * len(res.rows), by
    by_ad = await _run(db, ds, {**q, "breakdown": {"by": "ad", "limit": 1000}})
    pmax = next(i for i, e in ds.entities.items() if e[3] == "google pmax")
    tf = total.timeframe
    pmax_spend = sum(
        f.spend_micros
        for _, f in ds.facts
        if f.entity_id == pmax and tf.start <= f.event_date <= tf.end
    )
    ad_spend = sum(r.values["spend"] or 0 for r in by_ad.rows)
    # Performance Max facts sit on the campaign: no ad row carries them.
    assert abs(ad_spend + pmax_spend / 1e6 - total.totals["spend"]) < 0.01 * len(by_ad.rows)


async def test_entity_rows_sort_and_page_in_sql(db: Database) -> None:
    ds = await build(db, today=TODAY)
    q = {"metrics": ["spend", "roas"], "timeframe": "last_7_days"}
    first = await _run(db, ds, {**q, "breakdown": {"by": "ad", "sort": "roas", "limit": 5}})
    second = await _run(
        db, ds, {**q, "breakdown": {"by": "ad", "sort": "roas", "limit": 5, "offset": 5}}
    )
    roas = [r.values["roas"] for r in first.rows + second.rows]
    assert roas == sorted(roas, reverse=True)
    assert first.total_rows == len(ds.ids("ad"))
    by_name = await _run(
        db, ds, {**q, "breakdown": {"by": "campaign", "sort": "name", "order": "asc"}}
    )
    names = [r.label for r in by_name.rows]
    assert names == sorted(names)


async def test_zero_denominators_are_null(db: Database) -> None:
    ds = await build(db, today=TODAY, days=3)
    result = await _run(
        db,
        ds,
        {
            "metrics": ["roas", "cpa", "ctr", "aov", "mer"],
            "timeframe": {"start": "2020-01-01", "end": "2020-01-31"},
        },
    )
    assert all(v is None for v in result.totals.values())
    assert all(v is None for v in result.delta_pct.values())


@pytest.mark.parametrize(
    "query,field",
    [
        ({"metrics": ["nope"]}, "metrics"),
        ({"metrics": ["spend"], "timeframe": "last_year"}, "timeframe"),
        (
            {"metrics": ["spend"], "timeframe": {"start": "2026-02-01", "end": "2026-01-01"}},
            "start",
        ),
        ({"metrics": ["spend"], "timeframe": {"start": "2020-01-01", "end": "2026-01-01"}}, "end"),
        ({"metrics": ["spend"], "breakdown": "region"}, "breakdown.by"),
        ({"metrics": ["spend"], "filters": {"provider": ["myspace"]}}, "filters.provider"),
    ],
)
async def test_bad_queries_name_the_field(db: Database, query: dict, field: str) -> None:
    ds = await build(db, today=TODAY, days=2)
    with pytest.raises(ValidationFailed) as err:
        await _run(db, ds, query)
    assert any(f.startswith(field) for f in err.value.fields), err.value.fields


async def test_small_breakdowns_sort_in_both_directions(db: Database) -> None:
    ds = await build(db, today=TODAY, days=10)
    q = {"metrics": ["spend", "orders"], "timeframe": "last_7_days"}
    by_name = await _run(db, ds, {**q, "breakdown": {"by": "provider", "sort": "name"}})
    assert [r.key for r in by_name.rows] == ["meta", "google"]
    asc = await _run(db, ds, {**q, "breakdown": {"by": "provider", "sort": "name", "order": "asc"}})
    assert [r.key for r in asc.rows] == ["google", "meta"]
    assert all(r.values["orders"] is None for r in asc.rows)  # orders are shop-wide
    days = await _run(db, ds, {**q, "breakdown": {"by": "day", "order": "asc", "limit": 3}})
    assert [r.key for r in days.rows] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    assert days.total_rows == 7
    newest = await _run(db, ds, {**q, "breakdown": {"by": "day", "limit": 1}})
    assert newest.rows[0].key == "2026-03-14"
    want = sum(1 for o in ds.orders if o.order_date == date(2026, 3, 14) and o.cancelled_at is None
               and not o.is_test and o.financial_status != "voided")  # fmt: skip
    assert newest.rows[0].values["orders"] == want
