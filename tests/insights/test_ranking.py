"""Dashboard insights over hand-made measures: money impact, spend guard, drivers, best area."""

from __future__ import annotations

import pytest

from metricx.insights.ranking import (
    EntityPerformance,
    Measures,
    best_area,
    biggest_drop,
    roas_drivers,
)


def m(spend, revenue, impressions=0, clicks=0, conversions=0) -> Measures:
    return Measures(spend, revenue, impressions, clicks, conversions)


def ent(level, key, cur, prev, children=()) -> EntityPerformance:
    return EntityPerformance(level, key, key, cur, prev, tuple(children))


def test_drop_is_ranked_by_money_not_percent() -> None:
    small_but_steep = ent("campaign", "Tiny", m(200, 100), m(200, 600))  # -83%, $500 lost
    big_and_mild = ent("campaign", "Big", m(10_000, 25_000), m(10_000, 30_000))  # -17%, $5,000
    insight = biggest_drop([small_but_steep, big_and_mild], min_spend=100)
    assert insight is not None and insight.entity["label"] == "Big"
    assert insight.kind == "warning" and insight.metric == "roas"
    assert insight.impact == 5_000.0
    assert (insight.value, insight.previous, insight.delta_pct) == (2.5, 3.0, -16.7)
    assert "about $5,000.00 of revenue lost" in insight.text


def test_min_spend_guard_ignores_small_and_paused_entities() -> None:
    tiny = ent("campaign", "Tiny", m(50, 10), m(50, 500))
    paused = ent("campaign", "Paused", m(0, 0), m(5_000, 20_000))
    assert biggest_drop([tiny, paused], min_spend=100) is None


def test_extra_spend_at_previous_cpa_can_be_the_bigger_impact() -> None:
    # revenue flat (no ROAS fall) but conversions cost more
    e = ent("ad", "UGC", m(1_000, 3_000, conversions=20), m(1_000, 3_000, conversions=40))
    insight = biggest_drop([e], min_spend=100)
    assert insight is not None and insight.metric == "cpa"
    assert insight.impact == 500.0  # 20 conversions x ($50 - $25)
    assert insight.delta_pct == 100.0


def test_nothing_dropped_gives_no_warning() -> None:
    up = ent("campaign", "Up", m(1_000, 5_000), m(1_000, 4_000))
    assert biggest_drop([up], min_spend=100) is None


def test_roas_drop_explained_by_cpm_and_cvr() -> None:
    prev = m(1_000, 4_000, impressions=100_000, clicks=2_000, conversions=80)
    # CPM up 25% (fewer impressions for the same spend), conversion rate down, CTR and AOV flat
    cur = m(1_000, 2_400, impressions=80_000, clicks=1_600, conversions=48)
    drivers = roas_drivers(ent("campaign", "C", cur, prev))
    names = [d.name for d in drivers]
    assert names[:2] == ["cvr", "cpm"]
    assert sum(d.share for d in drivers) == pytest.approx(1.0)
    insight = biggest_drop([ent("campaign", "C", cur, prev)], min_spend=100)
    assert "conversion rate fell 25.0% and CPM rose 25.0%" in insight.text


def test_spend_mix_shows_for_a_parent() -> None:
    good_prev, bad_prev = m(800, 4_000), m(200, 200)
    good_cur, bad_cur = m(200, 1_000), m(800, 800)
    kids = [ent("campaign", "Good", good_cur, good_prev), ent("campaign", "Bad", bad_cur, bad_prev)]
    parent = ent("provider", "meta", m(1_000, 1_800), m(1_000, 4_200), kids)
    assert roas_drivers(parent) == []  # no funnel data: no partial decomposition
    from metricx.insights.ranking import _mix_effect

    assert _mix_effect(parent) == pytest.approx(__import__("math").log(1.8 / 4.2))


def test_best_area_prefers_the_campaign_that_carries_its_platform() -> None:
    star = ent("campaign", "Summer Sale", m(2_000, 12_000), m(2_000, 11_000))
    other = ent("campaign", "Evergreen", m(2_000, 4_000), m(2_000, 4_000))
    meta = ent("provider", "meta", m(4_000, 16_000), m(4_000, 15_000))
    google = ent("provider", "google", m(4_000, 8_000), m(4_000, 8_000))
    g_camp = ent("campaign", "Search", m(4_000, 8_000), m(4_000, 8_000))
    insight = best_area([star, other, meta, google, g_camp], min_spend=100)
    assert insight is not None and insight.kind == "opportunity"
    assert insight.entity == {"level": "campaign", "key": "Summer Sale", "label": "Summer Sale"}
    assert insight.value == 6.0 and insight.impact == 6_000.0  # 2,000 x (6.0 - 3.0)
    assert insight.delta_pct == 9.1


def test_best_area_respects_min_spend_and_needs_an_outperformer() -> None:
    tiny_star = ent("ad", "Tiny", m(10, 500), m(10, 400))
    flat = ent("campaign", "Flat", m(1_000, 2_000), m(1_000, 2_000))
    assert best_area([tiny_star, flat], min_spend=100) is None


def test_insight_json_has_the_dashboard_fields() -> None:
    insight = biggest_drop([ent("campaign", "Big", m(1_000, 2_000), m(1_000, 3_000))], min_spend=1)
    data = insight.to_json()
    assert {
        "kind",
        "title",
        "text",
        "metric",
        "entity",
        "value",
        "previous",
        "delta_pct",
        "impact",
    } <= data.keys()


def test_dashboard_names_the_dropping_campaign_and_the_outperformer() -> None:
    from metricx.insights.ranking import dashboard_insights

    dropping = ent("campaign", "Retargeting", m(3_000, 4_500), m(3_000, 9_000))
    star = ent("campaign", "Summer Sale", m(2_000, 12_000), m(2_000, 11_000))
    meta = ent("provider", "meta", m(5_000, 16_500), m(5_000, 20_000))
    insights = dashboard_insights([dropping, star, meta], min_spend=100)
    assert [(i["kind"], i["entity"]["label"]) for i in insights] == [
        ("warning", "Retargeting"),
        ("opportunity", "Summer Sale"),
    ]
