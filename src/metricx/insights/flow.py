"""One question, end to end: translate, execute, answer, optionally phrase.

The engine is passed in as `execute` so this flow stays independent of it; the endpoint
wires the real engine (and the cache and the question log) around `answer_question`.
The LLM, when given, translates first and the parser is the fallback; its phrasing replaces
the template only after the number check. `engine` is "llm" when any LLM output was used.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from metricx.insights.answer import build_answer
from metricx.insights.llm import LlmProvider, Usage
from metricx.insights.parser import Unmapped, parse_question
from metricx.insights.results import QueryResults
from metricx.insights.semantic import SemanticQuery, Timeframe

# Failures of the model's output, as opposed to the service being unreachable or overloaded.
_CONTENT_ERRORS = ("no_tool_call", "invalid_tool_input")

Execute = Callable[[SemanticQuery], Awaitable[QueryResults]]


@dataclass
class QuestionAnswer:
    answer: str
    query: SemanticQuery | None
    results: QueryResults | None
    visual: dict[str, Any] | None
    engine: Literal["rules", "llm"]
    success: bool
    provenance: dict[str, Any] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0


async def answer_question(
    question: str,
    *,
    today: date,
    execute: Execute,
    llm: LlmProvider | None = None,
    default_timeframe: Timeframe | None = None,
) -> QuestionAnswer:
    started = time.perf_counter()
    usages: list[Usage] = []
    provenance: dict[str, Any] = {"translator": "rules", "phrasing": "template"}

    query: SemanticQuery | Unmapped | None = None
    if llm is not None and question.strip():
        translation = await llm.translate(question, today, default_timeframe)
        usages.append(translation.usage)
        if translation.query is not None:
            query, provenance["translator"] = translation.query, "llm"
        else:
            provenance["llm_translate_error"] = translation.error
            if translation.error not in _CONTENT_ERRORS:
                llm = None  # the service is failing: do not spend another deadline phrasing
    if query is None:
        query = parse_question(question, today, default_timeframe)

    def done(text: str, **kw: Any) -> QuestionAnswer:
        used_llm = provenance["translator"] == "llm" or provenance["phrasing"] == "llm"
        return QuestionAnswer(
            answer=text,
            engine="llm" if used_llm else "rules",
            provenance=provenance,
            tokens_in=sum(u.tokens_in for u in usages),
            tokens_out=sum(u.tokens_out for u in usages),
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            **kw,
        )

    if isinstance(query, Unmapped):
        provenance["unmapped"] = query.reason
        return done(query.help_text(), query=None, results=None, visual=None, success=False)

    results = await execute(query)
    answer = build_answer(query, results)
    text = answer.text
    if llm is not None:
        phrasing = await llm.phrase(question, query, results, answer)
        usages.append(phrasing.usage)
        if phrasing.text is not None:
            text, provenance["phrasing"] = phrasing.text, "llm"
        else:
            provenance["llm_phrase_error"] = phrasing.error
    provenance.update(
        start=results.start.isoformat(),
        end=results.end.isoformat(),
        filters=query.to_json()["filters"],
        data_version=results.data_version,
    )
    return done(text, query=query, results=results, visual=answer.visual, success=True)
