"""Request and response bodies of the questions API."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from metricx.insights.parser import MAX_QUESTION_CHARS
from metricx.insights.semantic import Timeframe


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    timeframe: Timeframe | None = Field(
        default=None, description="Used when the question names no period."
    )

    @field_validator("question")
    @classmethod
    def _text_only(cls, value: str) -> str:
        """Refuse blank and binary questions (control characters, replacement characters)."""
        stripped = value.strip()
        if not stripped:
            raise ValueError("the question is empty")
        for char in stripped:
            if char == "\ufffd" or (
                unicodedata.category(char) in ("Cc", "Cs", "Co") and char not in "\t\n\r"
            ):
                raise ValueError("the question must be plain text")
        return stripped


class AnswerOut(BaseModel):
    answer: str
    query: dict[str, Any] | None
    results: dict[str, Any] | None
    visual: dict[str, Any] | None
    provenance: dict[str, Any]
    engine: Literal["rules", "llm"]


class QuestionLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    question: str
    query: dict[str, Any] | None
    engine: str
    answer: str
    success: bool
    latency_ms: float
    created_at: datetime
