"""Routes of the questions API: parse, authorize, call one service, return."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from metricx.auth.deps import WorkspaceCtx
from metricx.deps import CacheDep, SessionDep, SettingsDep
from metricx.errors import ServiceUnavailable
from metricx.insights import repository, service
from metricx.insights.flow import Execute
from metricx.insights.llm import LlmProvider
from metricx.insights.schemas import AnswerOut, QuestionIn, QuestionLogOut
from metricx.insights.sse import answer_events
from metricx.metrics.deps import ClockDep
from metricx.metrics.schemas import TimeframeSpec

router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["insights"])

EXECUTOR_STATE = "query_executor_factory"
LLM_STATE = "insights_llm"


async def get_executor(request: Request, session: SessionDep, ctx: WorkspaceCtx) -> Execute:
    """The query engine bound to this request (set on app.state when the engine is wired)."""
    factory: service.ExecutorFactory | None = getattr(request.app.state, EXECUTOR_STATE, None)
    if factory is None:
        raise ServiceUnavailable("The query engine is not available.")
    return factory(session, ctx)


async def get_llm(request: Request, settings: SettingsDep) -> LlmProvider | None:
    """The optional LLM provider, created once per app; None without an API key."""
    state = request.app.state
    if not hasattr(state, LLM_STATE):
        setattr(state, LLM_STATE, LlmProvider.from_settings(settings))
    return getattr(state, LLM_STATE)  # type: ignore[no-any-return]


ExecutorDep = Annotated[Execute, Depends(get_executor)]
LlmDep = Annotated[LlmProvider | None, Depends(get_llm)]


@router.post(
    "/questions",
    response_model=AnswerOut,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def ask_question(
    request: Request,
    body: QuestionIn,
    ctx: WorkspaceCtx,
    session: SessionDep,
    cache: CacheDep,
    execute: ExecutorDep,
    llm: LlmDep,
    clock: ClockDep,
) -> object:
    """Answer a question; with `Accept: text/event-stream` the answer streams as SSE."""
    result = await service.ask(session, cache, ctx, body, execute, llm, clock)
    if "text/event-stream" in request.headers.get("accept", ""):
        events = answer_events(answer=result["answer"], payload=result, visual=result["visual"])
        return StreamingResponse(events, media_type="text/event-stream")
    return result


@router.get("/questions/history", response_model=list[QuestionLogOut])
async def question_history(
    ctx: WorkspaceCtx,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> object:
    """The workspace's latest questions, newest first."""
    return await repository.history(session, ctx, limit)


TimeframeKey = Literal[
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "this_month",
    "last_month",
    "custom",
]


@router.get(
    "/insights",
    responses={200: {"description": "{insights: [drop, best area], timeframe, ...}"}},
)
async def dashboard_insights(
    ctx: WorkspaceCtx,
    session: SessionDep,
    cache: CacheDep,
    clock: ClockDep,
    timeframe: Annotated[TimeframeKey | None, Query()] = None,
    start: Annotated[date | None, Query(description="custom start (inclusive)")] = None,
    end: Annotated[date | None, Query(description="custom end (inclusive)")] = None,
) -> Response:
    """The dashboard's biggest performance drop and best performing area, from the engine."""
    spec = TimeframeSpec(key=timeframe, start=start, end=end)
    raw, cached = await service.dashboard_insights(session, cache, ctx, spec, clock)
    return Response(
        raw, media_type="application/json", headers={"X-Cache": "hit" if cached else "miss"}
    )
