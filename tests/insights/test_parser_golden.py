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
