"""Deterministic answers: sentences, visuals, and the number guard they are checked with."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from metricx.insights.answer import allowed_numbers, build_answer, date_range
from metricx.insights.numbers import numbers_in, strip_dates, unverified_numbers
from metricx.insights.results import QueryResults, ResultRow
from metricx.insights.semantic import SemanticQuery


def query(**kw) -> SemanticQuery:
    data = {"metrics": ["roas"], "timeframe": {"key": "last_7_days"}, **kw}
    return SemanticQuery.model_validate(data)


def totals_results(**kw) -> QueryResults:
    base = {
        "start": date(2026, 11, 21),
        "end": date(2026, 11, 27),
        "totals": {"roas": 2.41, "spend": Decimal("1234.5"), "ctr": 0.01234},
        "previous_start": date(2026, 11, 14),
        "previous_end": date(2026, 11, 20),
        "previous_totals": {"roas": 2.95, "spend": Decimal("1000"), "ctr": 0.0},
    }
    base.update(kw)
    return QueryResults(**base)


def test_kpi_with_comparison_reads_like_the_spec() -> None:
    answer = build_answer(query(compare=True), totals_results())
    assert answer.text == (
        "ROAS was 2.41 in the last 7 days (Nov 21 \u2013 Nov 27), down 18.3% from 2.95 "
        "in the previous 7 days (Nov 14 \u2013 Nov 20)."
    )
    assert answer.visual["type"] == "kpi"
    assert answer.visual["items"][0]["previous"] == 2.95


def test_several_metrics_and_a_zero_previous_value() -> None:
    q = query(metrics=["spend", "ctr"], compare=True)
    answer = build_answer(q, totals_results())
    assert "spend was $1,234.50, up 23.4% from $1,000.00" in answer.text
    assert "CTR was 1.23%, compared with 0.00% before" in answer.text


def test_null_metric_is_explained_not_zeroed() -> None:
    answer = build_answer(query(), totals_results(totals={"roas": None}))
    assert answer.text.startswith("ROAS has no value")


def test_ranking_sentence_and_bar_visual() -> None:
    q = query(breakdown={"by": "campaign", "limit": 2, "order": "desc"})
    rows = [
        ResultRow("1", "Summer Sale", {"roas": 4.1}),
        ResultRow("2", "Retargeting", {"roas": 3.2}),
    ]
    answer = build_answer(q, totals_results(rows=rows))
    assert answer.text == (
        "ROAS by campaign in the last 7 days (Nov 21 \u2013 Nov 27), highest first: "
        "Summer Sale 4.10; Retargeting 3.20."
    )
    assert answer.visual["type"] == "bar"
    assert [b["label"] for b in answer.visual["bars"]] == ["Summer Sale", "Retargeting"]


def test_single_winner_and_empty_breakdown() -> None:
    q = query(metrics=["cpa"], breakdown={"by": "ad", "limit": 1, "order": "asc"})
    rows = [ResultRow("9", "UGC video", {"cpa": 12.5})]
    answer = build_answer(q, totals_results(rows=rows))
    assert answer.text.startswith("UGC video had the lowest CPA in the last 7 days")
    assert build_answer(q, totals_results(rows=[])).text.startswith("No ad had data")


def test_daily_breakdown_is_a_line() -> None:
    q = query(metrics=["spend"], breakdown={"by": "day"})
    rows = [
        ResultRow("2026-11-21", "Nov 21", {"spend": 100}),
        ResultRow("2026-11-22", "Nov 22", {"spend": 250}),
    ]
    answer = build_answer(q, totals_results(rows=rows, totals={"spend": 350}))
    assert answer.visual["type"] == "line"
    assert "$350.00 overall, highest Nov 22 ($250.00), lowest Nov 21 ($100.00)" in answer.text


def test_multi_metric_breakdown_is_a_table() -> None:
    q = query(metrics=["roas", "spend"], breakdown={"by": "provider"})
    rows = [ResultRow("meta", "Meta", {"roas": 2.0, "spend": 10})]
    visual = build_answer(q, totals_results(rows=rows)).visual
    assert visual["type"] == "table"
    assert visual["rows"][0]["spend"]["formatted"] == "$10.00"


def test_every_template_number_is_verifiable() -> None:
    q = query(metrics=["spend", "roas", "ctr"], compare=True)
    r = totals_results()
    answer = build_answer(q, r)
    text = strip_dates(answer.text, *date_range(r))
    assert unverified_numbers(text, allowed_numbers(answer, q, r)) == []


def test_number_guard_tolerances() -> None:
    allowed = [2.41, 1234.56, 18.2, 1.234]
    assert unverified_numbers("ROAS 2.4, spend $1,234.56, down 18%", allowed) == []
    assert unverified_numbers("about $1.2k spent, CTR 1.23%", allowed) == []
    assert unverified_numbers("ROAS 2.5", allowed) == ["2.5"]
    assert unverified_numbers("spend $1,234", allowed) == ["1,234"]
    assert unverified_numbers("revenue 3,000", allowed) == ["3,000"]
    assert [n[0] for n in numbers_in("a 5% and 2 M")] == ["5%", "2 M"]


def test_dates_inside_the_period_are_not_numbers_but_others_are() -> None:
    text = strip_dates(
        "From Nov 21 to 2026-11-27, unlike Dec 3", date(2026, 11, 14), date(2026, 11, 27)
    )
    assert "21" not in text and "2026-11-27" not in text
    assert "Dec 3" in text
