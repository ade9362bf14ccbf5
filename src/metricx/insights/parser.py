"""The deterministic parser: a plain-language question to a validated semantic query, offline.

It reads the question in passes, each consuming the words it understood: a quoted name,
an explicit "vs previous period" clause, the timeframe, metrics, platforms, statuses, the
breakdown and ranking. Anything it recognises as a request it cannot serve (an unknown
platform, a breakdown by country, a threshold, a quarter) makes the result `Unmapped` with
a list of what it can answer: it never guesses. A question with no metric is also Unmapped,
except summary questions ("how did we do last week"), which get spend, revenue and ROAS.

The vocabulary and its documented ambiguities live in `lexicon.py`, date rules in `dates.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError

from metricx.insights import lexicon as lx
from metricx.insights.catalog import info
from metricx.insights.dates import UNKNOWN_TIME, DateError, find_timeframe
from metricx.insights.semantic import Breakdown, Filters, Order, SemanticQuery, Timeframe

MAX_QUESTION_CHARS = 2_000
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_QUOTED = r"(?:\"(?P<q1>[^\"]{1,200})\"|(?<!\w)'(?P<q2>[^']{1,200})'(?!\w))"
_NAME_QUOTED = (
    r"(?:\b(?:containing|contains|named|called|matching|with|including)\s+"
    r"(?:the\s+(?:word|text|name|string)\s+)?)?" + _QUOTED
)
_NAME_BARE = r"\b(?:containing|contains|named|called|matching)\s+(?P<name>[\w][\w-]*)"
_COMPARE_CLAUSE = (
    r"\b(?:vs\.?|versus|compared (?:to|with)|against|relative to|than)\s+(?:the\s+)?"
    r"(?:previous|prior|preceding|last|same|a|one)?\s*"
    r"(?:period|week|month|year|\d+ days|time|before)\b"
)
_CONTRAST = r"\b(?:vs\.?|versus|compared?|comparison|against)\b"
_THRESHOLD = (
    r"\b(?:above|below|over|under|more than|less than|greater than|at least|at most|>|<)"
    r"\s*[$€£]?\d"
)
_BREAKDOWN_PREFIX = (
    r"(?:by|per|each|every|across|which|what|all|list|rank|ranked|compare|between|my|our)"
)
_PLURAL = re.compile(r"(?:s|ads)$")


@dataclass(frozen=True)
class Unmapped:
    """A question the parser will not answer, with what it did not understand."""

    reason: str
    unrecognized: list[str] = field(default_factory=list)

    def help_text(self) -> str:
        return (
            f"I couldn't answer that: {self.reason}. I can answer questions about spend, "
            "impressions, clicks, conversions, revenue, store orders and revenue, COGS, "
            "ROAS, CPA, CPC, CPM, CTR, conversion rate, AOV, MER, profit and POAS; for today, "
            "yesterday, this or last week, the last N days, this or last month, a named month "
            "or since a date; by platform, campaign, ad set, ad, day or week; filtered by "
            'Meta, Google or TikTok or by name. For example: "ROAS by platform in the last '
            '30 days" or "top 5 campaigns by spend this month vs previous period".'
        )


def _consume(text: str, span: tuple[int, int]) -> str:
    start, end = span
    return text[:start] + " " * (end - start) + text[end:]


def _take_all(text: str, pattern: str) -> tuple[str, list[re.Match[str]]]:
    matches = list(re.finditer(rf"\b(?:{pattern})\b", text))
    for match in matches:
        text = _consume(text, match.span())
    return text, matches


def _normalise(question: str) -> str:
    text = question.translate(_QUOTES)
    text = re.sub(r"[?!]+|\.(?=\s|$)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _take_name(text: str) -> tuple[str, str | None]:
    for pattern in (_NAME_QUOTED, _NAME_BARE):
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if match:
            groups = match.groupdict()
            name = (groups.get("name") or groups.get("q1") or groups.get("q2") or "").strip()
            return _consume(text, match.span()), name or None
    return text, None


def _metrics(text: str) -> tuple[str, list[str]]:
    found: list[tuple[int, str]] = []
    for pattern, key in lx.METRIC_SYNONYMS:
        text, matches = _take_all(text, pattern)
        found.extend((m.start(), key) for m in matches)
    ordered: list[str] = []
    for _, key in sorted(found):
        if key not in ordered:
            ordered.append(key)
    if re.search(r"\b(?:shopify|store|shop)\b", text):
        swap = {"revenue": "order_revenue", "conversions": "orders"}
        ordered = list(dict.fromkeys(swap.get(m, m) for m in ordered))
    return text, ordered


def _platforms(text: str) -> tuple[str, list[str]]:
    found: list[str] = []
    for pattern, provider in lx.PLATFORMS:
        text, matches = _take_all(text, rf"(?:{pattern})(?: ads)?")
        if matches:
            found.append(provider)
    return text, found


def _statuses(text: str) -> tuple[str, list[str]]:
    found: list[str] = []
    for pattern, status in ((r"active|live|running|enabled", "active"), (r"paused", "paused")):
        text, matches = _take_all(text, pattern)
        if matches:
            found.append(status)
    return text, found


def _ranking(text: str, first_metric: str | None) -> tuple[Order | None, str | None]:
    """(order, the ranking word) from best/worst/highest/lowest words, by first occurrence."""
    hits: list[tuple[int, str, str]] = []
    for words, kind in (
        (lx.HIGH_WORDS, "high"),
        (lx.LOW_WORDS, "low"),
        (lx.BEST_WORDS, "best"),
        (lx.WORST_WORDS, "worst"),
    ):
        hits.extend((m.start(), kind, m.group()) for m in re.finditer(rf"\b(?:{words})\b", text))
    if not hits:
        return None, None
    _, kind, word = min(hits)
    if kind == "high":
        return "desc", word
    if kind == "low":
        return "asc", word
    lower_is_better = first_metric is not None and info(first_metric).direction == "lower"
    best_order: Order = "asc" if lower_is_better else "desc"
    if kind == "best":
        return best_order, word
    return ("desc" if best_order == "asc" else "asc"), word


def _limit(text: str, noun_pattern: str) -> int | None:
    n = lx.NUMBER
    rank = r"best|worst|top|bottom|highest|lowest|most|least|biggest|\w+ing"
    for pattern in (
        rf"\b(?:top|bottom|best|worst|first|last)\s+(?P<n>{n})\b",
        rf"\b(?P<n>{n})\s+(?:(?:{rank})\s+)?(?:{noun_pattern})\b",
    ):
        match = re.search(pattern, text)
        if match and match["n"] != "a":
            return lx.to_int(match["n"])
    return None


def _breakdown(text: str, ranked: bool, n_platforms: int) -> Breakdown | None:
    for pattern, by in lx.TIME_BREAKDOWNS:
        match = re.search(rf"\b(?:{pattern})\b", text)
        if match:
            return _time_breakdown(by, match.group().startswith("which"))
    match = re.search(r"\b(?:best|worst|highest|lowest|top|biggest)\s+(?P<u>day|week)\b", text)
    if match:
        return _time_breakdown(match["u"], True)
    candidates: list[tuple[int, int, int, str, str]] = []
    for pattern, by in lx.BREAKDOWN_NOUNS:
        for m in re.finditer(rf"\b(?:{pattern})\b", text):
            prefixed = re.search(rf"\b{_BREAKDOWN_PREFIX}\s+(?:\w+\s+){{0,2}}$", text[: m.start()])
            plural = bool(_PLURAL.search(m.group()))
            if prefixed or ranked or (plural and re.search(r"\b(?:show|list)\b", text)):
                candidates.append((0 if prefixed else 1, m.start(), -len(m.group()), by, m.group()))
    if not candidates:
        return Breakdown(by="provider") if n_platforms > 1 else None
    _, start, _, by, noun = min(candidates)
    pattern = dict((b, p) for p, b in lx.BREAKDOWN_NOUNS)[by]
    limit = _limit(text, pattern)
    before = text[:start]
    singular = not _PLURAL.search(noun)
    if limit is None and singular and ranked and not re.search(r"\b(?:by|per|each)\s+$", before):
        limit = 1
    return Breakdown(by=by, limit=limit)  # type: ignore[arg-type]


def _time_breakdown(by: str, single: bool) -> Breakdown:
    return Breakdown(by=by, limit=1 if single else None)  # type: ignore[arg-type]


def parse_question(
    question: str, today: date, default_timeframe: Timeframe | None = None
) -> SemanticQuery | Unmapped:
    """Map a question to a semantic query, or say why not."""
    if not question.strip():
        return Unmapped("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        return Unmapped(f"the question is longer than {MAX_QUESTION_CHARS} characters")
    text, name = _take_name(_normalise(question))
    text = text.lower()

    compare = False
    match = re.search(_COMPARE_CLAUSE, text)
    if match:
        compare, text = True, _consume(text, match.span())

    try:
        found = find_timeframe(text, today)
        if found:
            text = _consume(text, found.span)
            if find_timeframe(text, today):
                return Unmapped("it names two periods; ask about one (with 'vs previous period')")
    except (DateError, ValidationError, ValueError) as exc:
        return Unmapped(f"the dates are not a valid period ({exc})".replace("\n", " "))
    timeframe = found.timeframe if found else (default_timeframe or Timeframe.named("last_7_days"))

    text, metrics = _metrics(text)
    text, platforms = _platforms(text)
    text, statuses = _statuses(text)

    problems = [
        (UNKNOWN_TIME, "that period is not one I understand"),
        (lx.UNSUPPORTED_PLATFORMS, "only Meta, Google and TikTok are connected"),
        (lx.UNSUPPORTED_BREAKDOWNS, "that breakdown is not available"),
        (_THRESHOLD, "filtering by a metric threshold is not supported"),
    ]
    for pattern, reason in problems:
        bad = re.search(rf"\b(?:{pattern})", text)
        if bad:
            return Unmapped(reason, [bad.group().strip()])

    order, rank_word = _ranking(text, metrics[0] if metrics else None)
    breakdown = _breakdown(text, order is not None, len(platforms))

    if not metrics:
        if re.search(rf"\b(?:{lx.SUMMARY_WORDS})\b", text) or (breakdown and order):
            big = rank_word in ("biggest", "largest")
            ranked = breakdown is not None and order is not None and not big
            metrics = list(lx.RANKING_SUMMARY_METRICS if ranked else lx.SUMMARY_METRICS)
            order, _ = _ranking(text, metrics[0])
        else:
            return Unmapped("I found no metric in it")

    contrast = re.search(_CONTRAST, text) and len(platforms) < 2 and breakdown is None
    if re.search(lx.COMPARE_WORDS_RE, text) or contrast:
        compare = True

    if breakdown is not None and order is not None:
        breakdown = Breakdown(by=breakdown.by, limit=breakdown.limit, order=order)
    try:
        return SemanticQuery(
            metrics=metrics,
            timeframe=timeframe,
            breakdown=breakdown,
            filters=Filters(provider=platforms, name_contains=name, status=statuses),
            compare=compare,
        )
    except ValidationError as exc:
        return Unmapped(f"the query is not valid ({exc.errors()[0]['msg']})")
