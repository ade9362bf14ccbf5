"""The questions API: answers, cache, SSE, history, tenant isolation and bad input."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from metricx.insights.results import QueryResults, ResultRow
from metricx.insights.semantic import SemanticQuery
from metricx.insights.sse import parse_events
from tests.factories import login_headers, make_tenant

CALLS: list[tuple[int, SemanticQuery]] = []


def executor_factory(session, ctx):  # the stand-in engine, bound like the real one
    async def execute(query: SemanticQuery) -> QueryResults:
        CALLS.append((ctx.workspace_id, query))
        value = 2.5 if ctx.workspace_id % 2 else 4.0
        rows = [ResultRow("meta", "Meta", {m: value for m in query.metrics})]
        return QueryResults(
            start=date(2026, 11, 21),
            end=date(2026, 11, 27),
            totals={m: value for m in query.metrics},
            rows=rows if query.breakdown else [],
            data_version=str(ctx.data_version),
        )

    return execute


@pytest.fixture
async def api(app):
    app.state.query_executor_factory = executor_factory
    app.state.insights_llm = None  # rules only, even if ANTHROPIC_API_KEY is in the environment
    CALLS.clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_answer_then_cache_then_history(api, db) -> None:
    tenant = await make_tenant(db)
    headers = await login_headers(api, tenant.email)
    url = f"/api/workspaces/{tenant.workspace_id}/questions"
    first = await api.post(url, json={"question": "ROAS by platform"}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["engine"] == "rules"
    assert body["query"]["breakdown"]["by"] == "provider"
    assert body["visual"]["type"] == "bar"
    assert body["results"]["rows"][0]["label"] == "Meta"
    assert body["provenance"]["cached"] is False
    again = await api.post(url, json={"question": "  roas BY platform? "}, headers=headers)
    assert again.json()["provenance"]["cached"] is True
    assert again.json()["answer"] == body["answer"]
    assert len(CALLS) == 1
    history = await api.get(f"{url}/history", headers=headers)
    assert history.status_code == 200
    assert [h["question"] for h in history.json()] == ["roas BY platform?", "ROAS by platform"]
    assert history.json()[0]["latency_ms"] < 50  # ~1 ms locally; lenient for slow CI


async def test_unmapped_question_is_a_helpful_200_not_an_error(api, db) -> None:
    tenant = await make_tenant(db)
    headers = await login_headers(api, tenant.email)
    url = f"/api/workspaces/{tenant.workspace_id}/questions"
    response = await api.post(url, json={"question": "what's the weather"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["query"] is None and "I can answer" in response.json()["answer"]
    assert CALLS == []


async def test_streamed_answer(api, db) -> None:
    tenant = await make_tenant(db)
    headers = {**await login_headers(api, tenant.email), "Accept": "text/event-stream"}
    url = f"/api/workspaces/{tenant.workspace_id}/questions"
    response = await api.post(url, json={"question": "spend last week"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_events(response.text)
    done = events[-1][1]
    assert events[-1][0] == "done"
    assert "".join(d["text"] for k, d in events if k == "token") == done["answer"]


BAD_BODIES = [
    {"question": ""},
    {"question": "   "},
    {"question": "x" * 2_001},
    {"question": "spend\x00\x01 yesterday"},
    {"question": "spend \ufffd\ufffd"},
    {"question": "spend", "timeframe": {"key": "last_year"}},
    {"question": "spend", "timeframe": {"start": "2026-11-10", "end": "2026-11-01"}},
    {"question": "spend", "extra": 1},
    {"question": 42},
    {},
]


async def test_bad_questions_get_a_4xx(api, db) -> None:
    tenant = await make_tenant(db)
    headers = await login_headers(api, tenant.email)
    url = f"/api/workspaces/{tenant.workspace_id}/questions"
    for body in BAD_BODIES:
        response = await api.post(url, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
    assert CALLS == []


async def test_other_workspaces_are_not_found(api, db) -> None:
    a = await make_tenant(db, "a@example.com")
    b = await make_tenant(db, "b@example.com")
    a_headers = await login_headers(api, a.email)
    b_headers = await login_headers(api, b.email)
    a_url = f"/api/workspaces/{a.workspace_id}/questions"
    await api.post(a_url, json={"question": "spend yesterday"}, headers=a_headers)
    assert (await api.post(a_url, json={"question": "spend"}, headers=b_headers)).status_code == 404
    assert (await api.get(f"{a_url}/history", headers=b_headers)).status_code == 404
    b_history = await api.get(
        f"/api/workspaces/{b.workspace_id}/questions/history", headers=b_headers
    )
    assert b_history.json() == []
    assert {ws for ws, _ in CALLS} == {a.workspace_id}


async def test_without_an_engine_the_route_says_so(app, db) -> None:
    app.state.query_executor_factory = None  # the app wires the engine; take it away
    tenant = await make_tenant(db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        headers = await login_headers(c, tenant.email)
        url = f"/api/workspaces/{tenant.workspace_id}/questions"
        response = await c.post(url, json={"question": "spend"}, headers=headers)
    assert response.status_code == 503
