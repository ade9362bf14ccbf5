"""The parser maps every golden question to exactly its expected semantic query."""

from __future__ import annotations

import pytest

from metricx.insights.parser import Unmapped, parse_question
from tests.insights.golden_questions import GOLDEN, TODAY


def test_golden_set_is_large_enough() -> None:
    assert len(GOLDEN) >= 80
    assert len({g.question for g in GOLDEN}) == len(GOLDEN)


@pytest.mark.parametrize("golden", GOLDEN, ids=[g.question or "<empty>" for g in GOLDEN])
def test_golden_question(golden) -> None:
    result = parse_question(golden.question, TODAY)
    if golden.query is None:
        assert isinstance(result, Unmapped), result
        assert "I can answer" in result.help_text()
        return
    assert not isinstance(result, Unmapped), result.reason
    assert result.to_json() == golden.query


@pytest.mark.parametrize(
    "question",
    ["", "   ", "x" * 2_001, "\x00\x01\x02 spend", "spend " * 400],
)
def test_bad_questions_are_refused_not_crashed(question: str) -> None:
    result = parse_question(question, TODAY)
    if len(question) > 2_000 or not question.strip():
        assert isinstance(result, Unmapped)
    # whatever comes back is either Unmapped or a valid query, never an exception


def test_default_timeframe_is_used_when_none_is_named() -> None:
    from metricx.insights.semantic import Timeframe

    result = parse_question("ROAS by platform", TODAY, Timeframe.named("last_30_days"))
    assert not isinstance(result, Unmapped)
    assert result.timeframe == Timeframe.named("last_30_days")


def test_invalid_dates_are_refused() -> None:
    assert isinstance(parse_question("spend since February 30", TODAY), Unmapped)
    assert isinstance(parse_question("spend from 2026-11-10 to 2026-11-01", TODAY), Unmapped)


def test_number_expectations_can_be_attached_and_checked() -> None:
    from tests.insights.golden_questions import Golden, number_mismatches

    results = {
        "totals": {"roas": 2.4149},
        "rows": [{"key": "1", "label": "Summer Sale", "values": {"spend": 10.0}}],
    }
    golden = Golden(
        "x",
        None,
        numbers={"totals.roas": 2.41, "rows[0].label": "Summer Sale", "rows[0].spend": 10.0},
    )
    assert number_mismatches(golden, results) == []
    wrong = Golden("x", None, numbers={"totals.roas": 2.5})
    assert number_mismatches(wrong, results) == ["totals.roas: 2.4149 != 2.5"]
