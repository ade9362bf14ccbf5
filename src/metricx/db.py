"""Database engine and sessions for both engines (SQLite embedded, PostgreSQL production)."""

from __future__ import annotations

import asyncio
import contextvars
import re
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from metricx.changes import WATCHED_TABLES
from metricx.config import Settings

log = structlog.get_logger("metricx.db")


@dataclass
class QueryStats:
    """Per-request database counters, read by the Server-Timing header and metrics."""

    count: int = 0
    seconds: float = 0.0
    starts: list[float] = field(default_factory=list)
    # A statement wrote a row the change feed watches (see metricx.changes).
    changed_watched: bool = False


query_stats: contextvars.ContextVar[QueryStats | None] = contextvars.ContextVar(
    "metricx_query_stats", default=None
)


# DML on the tables whose triggers notify the change feed (migration 0003).
_WATCHED_WRITE = re.compile(
    r"\s*(?:UPDATE|DELETE\s+FROM|INSERT\s+INTO)\s+\"?(?:" + "|".join(WATCHED_TABLES) + r")\b",
    re.IGNORECASE,
)


def _instrument(engine: AsyncEngine, slow_query_ms: float) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        conn.info.setdefault("metricx_t0", []).append(time.perf_counter())
        stats = query_stats.get()
        if stats is not None and not stats.changed_watched and _WATCHED_WRITE.match(statement):
            stats.changed_watched = True

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        starts = conn.info.get("metricx_t0")
        if not starts:
            return
        elapsed = time.perf_counter() - starts.pop()
        stats = query_stats.get()
        if stats is not None:
            stats.count += 1
            stats.seconds += elapsed
        if elapsed * 1000 >= slow_query_ms:
            log.warning(
                "db.slow_query",
                duration_ms=round(elapsed * 1000, 1),
                statement=statement[:2000],
            )


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # WAL lets readers proceed while a writer commits; foreign keys are off by default.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def create_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    """Build the async engine for the configured URL, pooled and instrumented."""
    db_url = make_url(url or settings.database_url)
    kwargs: dict[str, Any] = {}
    if db_url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 10}
        engine = create_async_engine(db_url, **kwargs)
        _sqlite_pragmas(engine)
    else:
        kwargs.update(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            # No pre-ping: it cost two round trips (BEGIN; ROLLBACK) on every checkout.
            # A connection that died with the server fails its statement instead; that
            # request is a 503, and SQLAlchemy then invalidates the whole pool, so the
            # next checkouts reconnect (tests/reliability/test_postgres_restart.py).
            pool_recycle=1800,
            connect_args={
                "timeout": settings.db_connect_timeout,
                "command_timeout": settings.db_statement_timeout_ms / 1000 + 5,
                "server_settings": {
                    # Parallel query hurt large workspaces under concurrency; JIT adds
                    # planning time to short aggregate queries.
                    "max_parallel_workers_per_gather": "0",
                    "jit": "off",
                    # asyncpg prepares every statement; after five runs PostgreSQL may
                    # switch to a generic plan that ignores the dates and the tenant's
                    # size, which made the entity queries 20x slower. Tenants differ
                    # too much in size for one plan to fit them all.
                    "plan_cache_mode": "force_custom_plan",
                    "statement_timeout": str(settings.db_statement_timeout_ms),
                    "application_name": "metricx",
                },
            },
        )
        engine = create_async_engine(db_url, **kwargs)
    _instrument(engine, settings.slow_query_ms)
    return engine


# asyncpg's errors for a server that is gone, restarting or refusing (by class name, so
# this module does not import the driver on SQLite installs).
_DRIVER_DOWN_ERRORS = frozenset(
    {
        "PostgresConnectionError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "CannotConnectNowError",
        "AdminShutdownError",
        "CrashShutdownError",
        "TooManyConnectionsError",
    }
)


def database_unavailable(exc: BaseException | None) -> bool:
    """True when `exc` (or what caused it) means the database cannot be reached right now.

    A pool timeout, a dropped or refused connection, a server shutting down: the request
    may succeed on retry, so it is a 503, not a 500. Integrity or SQL errors are not.
    """
    for _ in range(8):
        if exc is None:
            return False
        if isinstance(exc, BaseExceptionGroup):
            return any(database_unavailable(e) for e in exc.exceptions)
        if isinstance(exc, sa_exc.TimeoutError | ConnectionError | OSError):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        if type(exc).__name__ in _DRIVER_DOWN_ERRORS:
            return True
        exc = exc.__cause__
    return False


def create_null_pool_engine(url: str) -> AsyncEngine:
    """An unpooled engine for one-shot tools (migrations, admin commands)."""
    return create_async_engine(url, poolclass=NullPool)


# Statements that sum raw facts over a range (custom-range rankings, entity pages and their
# sparklines) cost tens to hundreds of milliseconds of PostgreSQL CPU each. Ten of them at
# once took both cores, and the cheap requests beside them (sign-in checks, cached pages
# that still authenticate) waited in PostgreSQL's run queue: /api/auth/me went from 40 ms
# to 660 ms p99. A per-process gate keeps a few running and queues the rest in the API,
# where waiting costs nothing.
_heavy_limit = 2
_heavy_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def set_heavy_query_limit(limit: int) -> None:
    """How many fact-summing statements may run at once in this process (from settings)."""
    global _heavy_limit
    if max(1, limit) != _heavy_limit:
        _heavy_limit = max(1, limit)
        _heavy_gates.clear()


def heavy_query_slot() -> asyncio.Semaphore:
    """The gate for fact-summing statements in this process (`async with heavy_query_slot()`)."""
    loop = asyncio.get_running_loop()
    gate = _heavy_gates.get(loop)
    if gate is None:
        gate = _heavy_gates[loop] = asyncio.Semaphore(_heavy_limit)
    return gate


class Database:
    """The engine plus its session factory; one per process."""

    def __init__(self, settings: Settings, *, url: str | None = None) -> None:
        set_heavy_query_limit(settings.heavy_query_concurrency)
        self.settings = settings
        self.engine = create_engine(settings, url=url)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Same pool, no transaction: a single read (the edge's auth lookup) is one round
        # trip instead of BEGIN, statement, COMMIT.
        self.autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
