"""The LLM path against a loopback fake of the Messages API: every failure ends in a correct
answer from the deterministic path, and no answer carries a number the results lack."""

from __future__ import annotations

import time
from datetime import date

import pytest

from metricx.config import Settings
from metricx.insights.answer import allowed_numbers, build_answer, date_range
from metricx.insights.flow import answer_question
from metricx.insights.llm import LlmProvider
from metricx.insights.numbers import strip_dates, unverified_numbers
from metricx.insights.results import QueryResults, ResultRow
from metricx.insights.semantic import SemanticQuery
from tests.fakes import anthropic as fake
from tests.fakes.anthropic import FakeAnthropic

TODAY = date(2026, 11, 28)
QUESTION = "What was my ROAS last week?"
GOOD_INPUT = {"metrics": ["roas"], "timeframe": {"start": "2026-11-16", "end": "2026-11-22"}}
TOTALS = {"roas": 2.41, "spend": 1234.5, "revenue": 2975.15, "cpa": 18.75}
PREVIOUS = {"roas": 2.95, "spend": 1100.0, "revenue": 3245.0, "cpa": 16.2}


async def execute(query: SemanticQuery) -> QueryResults:
    """A stand-in engine with fixed numbers."""
    tf = query.timeframe
    start, end = (tf.start, tf.end) if tf.start else (date(2026, 11, 21), date(2026, 11, 27))
    rows = []
    if query.breakdown is not None:
        rows = [
            ResultRow("1", "Summer Sale", {"roas": 4.1, "spend": 500.0}),
            ResultRow("2", "Retargeting", {"roas": 1.2, "spend": 300.0}),
        ][: query.breakdown.limit]
    return QueryResults(
        start=start,
        end=end,
        totals={m: TOTALS.get(m) for m in query.metrics},
        previous_start=date(2026, 11, 9),
        previous_end=date(2026, 11, 15),
        previous_totals={m: PREVIOUS.get(m) for m in query.metrics} if query.compare else None,
        rows=rows,
    )


def provider(server: FakeAnthropic, **kw) -> LlmProvider:
    options = {"timeout_seconds": 2.0, "deadline_seconds": 4.0, **kw}
    return LlmProvider(api_key="test-key", model="claude-fake", base_url=server.url, **options)


async def ask(server: FakeAnthropic, question: str = QUESTION, **kw):
    llm = provider(server, **kw)
    try:
        return await answer_question(question, today=TODAY, execute=execute, llm=llm)
    finally:
        await llm.aclose()


def assert_numbers_come_from_results(result) -> None:
    assert result.success
    answer = build_answer(result.query, result.results)
    text = strip_dates(result.answer, *date_range(result.results))
    assert unverified_numbers(text, allowed_numbers(answer, result.query, result.results)) == []


async def rules_answer(question: str = QUESTION) -> str:
    result = await answer_question(question, today=TODAY, execute=execute, llm=None)
    assert result.engine == "rules"
    return result.answer


async def test_good_tool_call_and_grounded_phrasing_use_the_llm(fake_anthropic) -> None:
    phrased = "Your ROAS last week (Nov 16 \u2013 Nov 22) was 2.41."
    fake_anthropic.script(fake.tool_use(GOOD_INPUT), fake.text(phrased))
    result = await ask(fake_anthropic)
    assert result.engine == "llm"
    assert result.provenance["translator"] == "llm" and result.provenance["phrasing"] == "llm"
    assert result.answer == phrased
    assert (result.tokens_in, result.tokens_out) == (720, 100)
    sent = fake_anthropic.requests[0]
    assert sent["tool_choice"] == {"type": "tool", "name": "run_metrics_query"}
    assert sent["tools"][0]["input_schema"]["required"] == ["metrics", "timeframe"]
    assert_numbers_come_from_results(result)


async def test_tool_input_failing_validation_falls_back_to_the_parser(fake_anthropic) -> None:
    bad = {"metrics": ["roi"], "timeframe": {"key": "last_week"}, "extra": 1}
    fake_anthropic.script(fake.tool_use(bad), fake.text("ROAS was 2.41 last week."))
    result = await ask(fake_anthropic)
    assert result.provenance["translator"] == "rules"
    assert result.provenance["llm_translate_error"] == "invalid_tool_input"
    assert result.query.to_json()["timeframe"] == GOOD_INPUT["timeframe"]
    assert result.engine == "llm"  # the phrasing was the model's, and it was checked
    assert_numbers_come_from_results(result)


async def test_invented_number_is_discarded_for_the_template(fake_anthropic) -> None:
    fake_anthropic.script(
        fake.tool_use(GOOD_INPUT), fake.text("ROAS was 2.41, about 12% better than usual.")
    )
    result = await ask(fake_anthropic)
    assert result.provenance["phrasing"] == "template"
    assert result.provenance["llm_phrase_error"] == "unverified_numbers"
    assert result.answer == await rules_answer()
    assert_numbers_come_from_results(result)


async def test_timeout_falls_back_within_the_deadline(fake_anthropic) -> None:
    fake_anthropic.script(fake.hang(5), fake.hang(5), fake.hang(5))
    started = time.perf_counter()
    result = await ask(fake_anthropic, timeout_seconds=0.3, deadline_seconds=0.8)
    assert time.perf_counter() - started < 2.0
    assert result.engine == "rules"
    assert result.provenance["llm_translate_error"] == "timeout"
    assert result.answer == await rules_answer()
    assert_numbers_come_from_results(result)


async def test_rate_limit_retry_after_is_capped_by_the_deadline(fake_anthropic) -> None:
    fake_anthropic.script(*[fake.rate_limited(retry_after="30")] * 5)
    started = time.perf_counter()
    result = await ask(fake_anthropic, deadline_seconds=0.8)
    assert time.perf_counter() - started < 2.0
    assert result.engine == "rules"
    assert result.provenance["llm_translate_error"] == "timeout"
    assert result.answer == await rules_answer()


async def test_rate_limit_retries_are_bounded(fake_anthropic) -> None:
    fake_anthropic.script(*[fake.rate_limited()] * 6)
    result = await ask(fake_anthropic, max_retries=1)
    assert len(fake_anthropic.requests) == 2  # one try plus one retry, and no phrasing call
    assert result.engine == "rules"
    assert result.provenance["llm_translate_error"] == "rate_limited"
    assert_numbers_come_from_results(result)


@pytest.mark.parametrize(
    ("step", "kind"), [(fake.overloaded, "http_529"), (fake.api_error, "http_500")]
)
async def test_server_errors_fall_back_to_rules(fake_anthropic, step, kind) -> None:
    fake_anthropic.script(*[step()] * 3)
    result = await ask(fake_anthropic, max_retries=0)
    assert result.engine == "rules"
    assert result.provenance["llm_translate_error"] == kind
    assert result.answer == await rules_answer()
    assert_numbers_come_from_results(result)


async def test_overloaded_once_then_retried_successfully(fake_anthropic) -> None:
    fake_anthropic.script(fake.overloaded(), fake.tool_use(GOOD_INPUT), fake.api_error())
    result = await ask(fake_anthropic, max_retries=1)
    assert result.provenance["translator"] == "llm"
    assert result.provenance["llm_phrase_error"] == "http_500"
    assert result.engine == "llm"
    assert result.answer == await rules_answer()


async def test_breakdown_phrasing_with_an_invented_rank_value_is_rejected(fake_anthropic) -> None:
    tool = {**GOOD_INPUT, "breakdown": {"by": "campaign", "limit": 2, "order": "desc"}}
    fake_anthropic.script(
        fake.tool_use(tool), fake.text("Summer Sale led with 4.10, Retargeting had 1.35.")
    )
    result = await ask(fake_anthropic, "top 2 campaigns by ROAS last week")
    assert result.provenance["phrasing"] == "template"
    assert "Summer Sale 4.10; Retargeting 1.20" in result.answer
    assert_numbers_come_from_results(result)


async def test_unmappable_question_with_failing_llm_is_a_helpful_refusal(fake_anthropic) -> None:
    fake_anthropic.script(fake.tool_use({"metrics": ["weather"]}))
    result = await ask(fake_anthropic, "what's the weather like")
    assert not result.success and result.query is None
    assert "I can answer" in result.answer


def test_provider_is_disabled_without_a_key() -> None:
    assert LlmProvider.from_settings(Settings(env="test", anthropic_api_key=None)) is None
    llm = LlmProvider.from_settings(
        Settings(env="test", anthropic_api_key="k", anthropic_base_url="http://127.0.0.1:9")
    )
    assert llm is not None and llm.deadline == 8.0


async def test_digits_inside_entity_names_are_not_taken_for_figures(fake_anthropic) -> None:
    tool = {**GOOD_INPUT, "breakdown": {"by": "campaign", "limit": 1, "order": "desc"}}
    phrased = "Summer Sale 2025 (Q3 - 40 off) led last week with a ROAS of 4.10."
    fake_anthropic.script(fake.tool_use(tool), fake.text(phrased))

    async def execute_with_digit_names(query: SemanticQuery) -> QueryResults:
        results = await execute(query)
        rows = [ResultRow("1", "Summer Sale 2025 (Q3 - 40 off)", {"roas": 4.1})]
        return QueryResults(**{**results.__dict__, "rows": rows})

    llm = provider(fake_anthropic)
    try:
        result = await answer_question(
            "which campaign had the best ROAS last week",
            today=TODAY,
            execute=execute_with_digit_names,
            llm=llm,
        )
    finally:
        await llm.aclose()
    assert result.answer == phrased and result.engine == "llm"
