"""The optional LLM provider (Anthropic Messages API through the official SDK).

It does two things, both optional and both checked:
- translate a question into a semantic query through a forced tool call whose input is
  validated by the pydantic model; anything else is a failure;
- phrase an answer from the computed facts only; every number in its text must be one of
  the facts (or a date, a period length, a rank), otherwise the phrasing is discarded.

A failure of any kind (timeout, 429, 529, 5xx, connection, malformed output, validation)
returns an outcome with `error` set and the caller falls back to the deterministic path.
The SDK retries a small bounded number of times; an overall deadline caps the whole call,
including any Retry-After the server asks for. Enabled only when ANTHROPIC_API_KEY is set.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import anthropic
import structlog
from pydantic import ValidationError

from metricx.config import Settings
from metricx.insights.answer import Answer, allowed_numbers, date_range, period_phrase
from metricx.insights.numbers import strip_dates, unverified_numbers
from metricx.insights.results import QueryResults
from metricx.insights.semantic import (
    METRIC_KEYS,
    TIMEFRAME_KEYS,
    SemanticQuery,
    Timeframe,
    semantic_query_schema,
)

log = structlog.get_logger("metricx.insights.llm")

TOOL_NAME = "run_metrics_query"
MAX_RETRIES = 2
MAX_ANSWER_CHARS = 600

_TRANSLATE_SYSTEM = """You translate questions about a brand's advertising performance into \
one call of the {tool} tool. Today is {today} (the workspace's local date); weeks start on \
Monday. Metric keys: {metrics}. Named timeframes: {timeframes}; otherwise give start and end \
dates (inclusive, YYYY-MM-DD). "Last N days" means the N days before today. When the question \
names no period use {default}. revenue is platform-reported; order_revenue is store revenue. \
Set compare to true when the question asks about change, growth, drops or a previous period. \
For rankings set breakdown.by, breakdown.limit and breakdown.order, and put the ranking metric \
first in metrics."""

_PHRASE_SYSTEM = """You answer a question about advertising performance in one to three short \
sentences, using ONLY the facts given. Copy numbers exactly as they are formatted in the facts; \
never compute, round differently, estimate or introduce any other number. If the facts do not \
answer the question, say what they do show. No preamble, no markdown."""


@dataclass(frozen=True)
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0


@dataclass(frozen=True)
class Translation:
    query: SemanticQuery | None
    error: str | None
    usage: Usage


@dataclass(frozen=True)
class Phrasing:
    text: str | None
    error: str | None
    usage: Usage


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | anthropic.APITimeoutError):
        return "timeout"
    if isinstance(exc, anthropic.RateLimitError):
        return "rate_limited"
    if isinstance(exc, anthropic.APIStatusError):
        return f"http_{exc.status_code}"
    if isinstance(exc, anthropic.APIConnectionError):
        return "connection"
    return type(exc).__name__


class LlmProvider:
    """Calls the model with a per-request timeout, few retries and an overall deadline."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 8.0,
        deadline_seconds: float | None = None,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self.model = model
        self.deadline = deadline_seconds if deadline_seconds is not None else timeout_seconds
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url or None,
            timeout=timeout_seconds,
            max_retries=max_retries,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmProvider | None:
        """The provider, or None when no API key is configured."""
        key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else ""
        if not key:
            return None
        return cls(
            api_key=key,
            model=settings.anthropic_model,
            base_url=settings.anthropic_base_url,
            timeout_seconds=settings.anthropic_timeout_seconds,
        )

    async def aclose(self) -> None:
        await self.client.close()

    async def _call(self, purpose: str, **params: Any) -> tuple[Any | None, str | None, Usage]:
        started = time.perf_counter()
        message, error = None, None
        try:
            async with asyncio.timeout(self.deadline):
                message = await self.client.messages.create(model=self.model, **params)
        except Exception as exc:  # every failure falls back; the kind is logged
            error = _error_kind(exc)
        latency_ms = (time.perf_counter() - started) * 1000
        usage_obj = getattr(message, "usage", None)
        usage = Usage(
            tokens_in=int(getattr(usage_obj, "input_tokens", 0) or 0),
            tokens_out=int(getattr(usage_obj, "output_tokens", 0) or 0),
            latency_ms=round(latency_ms, 1),
        )
        log.info(
            "llm_call",
            purpose=purpose,
            model=self.model,
            outcome=error or "ok",
            latency_ms=usage.latency_ms,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
        )
        return message, error, usage

    async def translate(
        self, question: str, today: date, default_timeframe: Timeframe | None = None
    ) -> Translation:
        """The question as a validated semantic query, or the reason there is none."""
        default = default_timeframe or Timeframe.named("last_7_days")
        system = _TRANSLATE_SYSTEM.format(
            tool=TOOL_NAME,
            today=today.isoformat(),
            metrics=", ".join(METRIC_KEYS),
            timeframes=", ".join(TIMEFRAME_KEYS),
            default=json.dumps(default.model_dump(mode="json", exclude_none=True)),
        )
        message, error, usage = await self._call(
            "translate",
            max_tokens=512,
            system=system,
            messages=[{"role": "user", "content": question}],
            tools=[
                {
                    "name": TOOL_NAME,
                    "description": "Compute advertising metrics for a period, optionally "
                    "broken down, filtered and compared with the previous period.",
                    "input_schema": semantic_query_schema(),
                }
            ],
            tool_choice={"type": "tool", "name": TOOL_NAME},
        )
        if error is not None:
            return Translation(None, error, usage)
        blocks = [
            b
            for b in getattr(message, "content", None) or []
            if getattr(b, "type", None) == "tool_use" and getattr(b, "name", None) == TOOL_NAME
        ]
        if not blocks:
            return self._failed_translation("no_tool_call", usage)
        try:
            query = SemanticQuery.model_validate(blocks[0].input)
        except (ValidationError, ValueError, TypeError):
            return self._failed_translation("invalid_tool_input", usage)
        return Translation(query, None, usage)

    @staticmethod
    def _failed_translation(error: str, usage: Usage) -> Translation:
        log.info("llm_rejected", purpose="translate", reason=error)
        return Translation(None, error, usage)

    async def phrase(
        self, question: str, query: SemanticQuery, results: QueryResults, answer: Answer
    ) -> Phrasing:
        """A short answer worded by the model, accepted only if all its numbers are facts."""
        facts = {
            "question": question,
            "period": period_phrase(query, results),
            "facts": [{"what": f.label, "value": f.formatted} for f in answer.facts],
            "reference_answer": answer.text,
        }
        message, error, usage = await self._call(
            "phrase",
            max_tokens=300,
            system=_PHRASE_SYSTEM,
            messages=[{"role": "user", "content": json.dumps(facts, ensure_ascii=False)}],
        )
        if error is not None:
            return Phrasing(None, error, usage)
        text = " ".join(
            b.text
            for b in getattr(message, "content", None) or []
            if getattr(b, "type", None) == "text"
        ).strip()
        if not text or len(text) > MAX_ANSWER_CHARS:
            return self._failed_phrasing("empty_or_too_long", usage)
        checked = strip_dates(text, *date_range(results))
        for row in results.rows:  # names like "Summer Sale 2026" are not figures
            if row.label:
                checked = checked.replace(row.label, " ")
        invented = unverified_numbers(checked, allowed_numbers(answer, query, results))
        if invented:
            log.warning("llm_invented_numbers", numbers=invented[:5])
            return self._failed_phrasing("unverified_numbers", usage)
        return Phrasing(text, None, usage)

    @staticmethod
    def _failed_phrasing(error: str, usage: Usage) -> Phrasing:
        log.info("llm_rejected", purpose="phrase", reason=error)
        return Phrasing(None, error, usage)
