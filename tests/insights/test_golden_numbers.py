"""Golden questions end to end on a fixed generated dataset: parser -> engine -> answer.

For every golden question with a numeric answer, the expected numbers are recomputed in
plain Python from the raw rows (tests/insights/golden_data.py) and attached to the golden
entry; the engine's results must equal them, and every number in the answer text must be
one of them (or a change, period length, rank or year derived from them).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx

from metricx.db import Database
from metricx.insights.executor import make_executor
from metricx.insights.flow import answer_question
from metricx.insights.numbers import delta_pct, strip_dates, unverified_numbers
from metricx.insights.results import results_to_json
from metricx.models import Workspace
from metricx.tenancy import AuthContext
from tests.factories import login_headers
from tests.insights.golden_data import (
    PERCENT,
    Expect,
    GoldenData,
    build_golden,
    expected_numbers,
)
from tests.insights.golden_questions import GOLDEN, TODAY, Golden, resolve

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def _ctx(data: GoldenData) -> AuthContext:
    t = data.tenant
    return AuthContext(user_id=t.user_id, workspace_id=t.workspace_id, role="owner")


def strict_mismatches(numbers: dict[str, Any], results: dict[str, Any]) -> list[str]:
    """Paths whose value differs from the expectation (exactly, up to float noise)."""
    bad = []
    n_rows = max(
        (int(p[5 : p.index("]")]) + 1 for p in numbers if p.startswith("rows[")), default=0
    )
    if len(results["rows"]) != n_rows:
        bad.append(f"rows: {len(results['rows'])} != {n_rows}")
        return bad
    for path, want in numbers.items():
        got = resolve(results, path)
        if isinstance(want, int | float) and isinstance(got, int | float):
            if abs(got - want) > 1e-9 * max(1.0, abs(want)):
                bad.append(f"{path}: {got!r} != {want!r}")
        elif got != want:
            bad.append(f"{path}: {got!r} != {want!r}")
    return bad


def allowed_in_text(expected: dict[str, Any], query: dict[str, Any]) -> list[float]:
    """Every number an answer may state, derived from the expectation only."""
    allowed: list[float] = []
    pairs: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
        (expected["totals"], expected["previous_totals"])
    ]
    pairs += [(r["values"], r.get("previous")) for r in expected["rows"]]
    for cur, prev in pairs:
        for m in query["metrics"]:
            for v in (cur.get(m), (prev or {}).get(m)):
                if v is not None:
                    allowed.append(float(v))
            if prev is not None:
                change = delta_pct(cur.get(m), prev.get(m))
                if change is not None:
                    allowed.append(change)
    start, end = expected["start"], expected["end"]
    allowed += [start.year, end.year, (end - start).days + 1]
    n = len(expected["rows"])
    allowed += [n, *range(1, n + 1)]
    if query["breakdown"] and query["breakdown"].get("limit"):
        allowed.append(query["breakdown"]["limit"])
    return allowed


def unverified_in_answer(text: str, expected: dict[str, Any], query: dict[str, Any]) -> list[str]:
    first = expected.get("previous_start") or expected["start"]
    checked = strip_dates(text, first, expected["end"])
    for row in expected["rows"]:
        checked = checked.replace(row["label"], " ")
    return unverified_numbers(checked, allowed_in_text(expected, query))


def with_numbers(expect: Expect) -> list[tuple[Golden, dict[str, Any]]]:
    """The golden entries that have a numeric answer, with expected numbers attached."""
    out = []
    for golden in GOLDEN:
        if golden.query is None:
            continue
        expected = expect.results(golden.query)
        numbers = expected_numbers(expected, golden.query["metrics"], golden.query["compare"])
        out.append((dataclasses.replace(golden, numbers=numbers), expected))
    return out


async def test_golden_questions_answer_with_the_expected_numbers(db: Database) -> None:
    data = await build_golden(db, TODAY)
    goldens = with_numbers(Expect(data, TODAY))
    assert len(goldens) >= 80
    values = [v for g, _ in goldens for v in (g.numbers or {}).values()]
    assert len(values) > 500
    assert sum(v is not None for v in values) > 0.9 * len(values)
    failures: dict[str, list[str]] = {}
    async with db.transaction() as session:
        execute = make_executor(session, _ctx(data), clock=clock)
        for golden, expected in goldens:
            qa = await answer_question(golden.question, today=TODAY, execute=execute)
            assert qa.query is not None and qa.results is not None, golden.question
            assert qa.query.to_json() == golden.query, golden.question
            results = results_to_json(qa.results)
            problems = strict_mismatches(golden.numbers or {}, results)
            invented = unverified_in_answer(qa.answer, expected, golden.query)
            if invented:
                problems.append(f"answer numbers {invented} not expected: {qa.answer}")
            if problems:
                failures[golden.question] = problems
    assert not failures, failures


async def test_percent_metrics_are_fractions_in_results_and_percent_in_text(
    db: Database,
) -> None:
    data = await build_golden(db, TODAY)
    expect = Expect(data, TODAY)
    golden = next(g for g in GOLDEN if g.question == "click-through rate yesterday")
    expected = expect.results(golden.query or {})
    async with db.transaction() as session:
        execute = make_executor(session, _ctx(data), clock=clock)
        qa = await answer_question(golden.question, today=TODAY, execute=execute)
    assert qa.results is not None
    ctr = expected["totals"]["ctr"]
    assert "ctr" in PERCENT and qa.results.totals["ctr"] == ctr / 100
    assert f"{ctr:.2f}%" in qa.answer


async def test_questions_endpoint_end_to_end_on_the_engine(app, db: Database) -> None:
    data = await build_golden(db, TODAY)
    app.state.clock = clock
    app.state.insights_llm = None
    expect = Expect(data, TODAY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        headers = await login_headers(c, data.tenant.email)
        url = f"/api/workspaces/{data.tenant.workspace_id}/questions"
        for question in ("ROAS by platform last 30 days", "top 5 campaigns by ROAS"):
            golden = next(g for g in GOLDEN if g.question == question)
            assert golden.query is not None
            response = await c.post(url, json={"question": question}, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["engine"] == "rules" and body["query"] == golden.query
            expected = expect.results(golden.query)
            numbers = expected_numbers(expected, golden.query["metrics"], False)
            assert strict_mismatches(numbers, body["results"]) == []
            assert body["provenance"]["start"] == expected["start"].isoformat()
            async with db.transaction() as s:
                version = (await s.get(Workspace, data.tenant.workspace_id)).data_version
            assert body["provenance"]["data_version"] == str(version)
