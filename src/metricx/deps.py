"""Request-scoped infrastructure dependencies: the session (and its transaction), cache, HTTP.

The request owns the transaction: it commits after the route returns and before the
response is sent, so a 2xx always means the data is durable. Work to do after the commit
(enqueueing jobs) is registered with `after_commit()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.cache import Cache
from metricx.config import Settings
from metricx.db import Database, query_stats
from metricx.errors import ServiceUnavailable

AFTER_COMMIT = "metricx_after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[object]]) -> None:
    """Run `callback` once the edge has committed this session's transaction."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    """Run and clear the callbacks registered on this session."""
    callbacks = session.info.pop(AFTER_COMMIT, [])
    for callback in callbacks:
        await callback()


async def get_database(request: Request) -> Database:
    """The process-wide database."""
    return request.app.state.db  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and transaction per request, committed before the response."""
    db: Database = request.app.state.db
    try:
        session = db.sessionmaker()
    except (OperationalError, InterfaceError, OSError) as exc:  # pragma: no cover
        raise ServiceUnavailable("The database is unavailable.") from exc
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()
    stats = query_stats.get()
    barrier = getattr(request.app.state, "change_barrier", None)
    if barrier is not None and stats is not None and stats.changed_watched:
        # Read your writes: this process's caches have heard of the change before the
        # response leaves (one round trip, only for requests that changed such rows).
        await barrier()
    await run_after_commit(session)


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_cache(request: Request) -> Cache:
    """The app's cache."""
    return request.app.state.cache  # type: ignore[no-any-return]


async def get_http(request: Request) -> httpx.AsyncClient:
    """The shared HTTP client."""
    return request.app.state.http  # type: ignore[no-any-return]


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CacheDep = Annotated[Cache, Depends(get_cache)]
HttpDep = Annotated[httpx.AsyncClient, Depends(get_http)]
DatabaseDep = Annotated[Database, Depends(get_database)]
