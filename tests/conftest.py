"""Shared fixtures: migrated SQLite and PostgreSQL databases, Redis, apps and clients.

PostgreSQL and Redis tests skip when the services are unreachable, unless
METRICX_TEST_REQUIRE_SERVICES=1, which turns a missing service into a failure.
Each test starts from empty tables: they are truncated after every test that used them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from metricx.auth import passwords
from metricx.config import Settings
from metricx.db import Database, create_null_pool_engine
from metricx.main import create_app
from metricx.migrate import upgrade_database
from metricx.models import Base

REQUIRE_SERVICES = os.environ.get("METRICX_TEST_REQUIRE_SERVICES") == "1"
PG_HOST = os.environ.get("METRICX_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("METRICX_TEST_PG_PORT", "5432"))
PG_ADMIN_URL = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/postgres"
REDIS_URL = os.environ.get("METRICX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RUN_ID = uuid.uuid4().hex[:8]


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _service_missing(name: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (METRICX_TEST_REQUIRE_SERVICES=1) but unreachable")
    pytest.skip(f"{name} is not reachable")


def test_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test app on the given database."""
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "log_level": "WARNING",
        "db_pool_size": 5,
        "db_max_overflow": 5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def _truncate(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))


# --- databases ---------------------------------------------------------------


@pytest.fixture(scope="session")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file shared by the session."""
    path: Path = tmp_path_factory.mktemp("db") / "metricx-test.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_database(url)
    return url


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """A migrated PostgreSQL database of its own, dropped at the end of the session."""
    if not _port_open(PG_HOST, PG_PORT):
        _service_missing("PostgreSQL")
    name = f"metricx_test_{RUN_ID}_{os.getpid()}"
    admin = create_null_pool_engine(PG_ADMIN_URL)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    try:
        await upgrade_database(url)
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A Database on the parametrised engine, emptied after the test."""
    database = Database(test_settings(database_url), url=database_url)
    try:
        yield database
    finally:
        await _truncate(database)
        await database.dispose()


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[Database]:
    """A Database on SQLite only."""
    database = Database(test_settings(sqlite_url), url=sqlite_url)
    try:
        yield database
    finally:
        await _truncate(database)
        await database.dispose()


@pytest.fixture
async def pg_db(postgres_url: str) -> AsyncIterator[Database]:
    """A Database on PostgreSQL only."""
    database = Database(test_settings(postgres_url), url=postgres_url)
    try:
        yield database
    finally:
        await _truncate(database)
        await database.dispose()


# --- redis -------------------------------------------------------------------


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A Redis database (number 15) flushed before and after the test."""
    import redis.asyncio as redis

    if not _port_open("127.0.0.1", 6379):
        _service_missing("Redis")
    client = redis.from_url(REDIS_URL)
    await client.flushdb()
    try:
        yield REDIS_URL
    finally:
        await client.flushdb()
        await client.aclose()


# --- app ---------------------------------------------------------------------


@pytest.fixture
async def app_factory(db: Database) -> AsyncIterator[object]:
    """Build apps on the test's database; each is started and stopped by the fixture."""
    started: list[object] = []

    async def make(**overrides: object):  # type: ignore[no-untyped-def]
        settings = test_settings(
            str(db.engine.url.render_as_string(hide_password=False)), **overrides
        )
        app = create_app(settings)
        ctx = app.router.lifespan_context(app)
        await ctx.__aenter__()
        started.append(ctx)
        return app

    yield make
    for ctx in reversed(started):
        await ctx.__aexit__(None, None, None)  # type: ignore[attr-defined]


@pytest.fixture
async def app(app_factory):  # type: ignore[no-untyped-def]
    """The app on the parametrised database."""
    return await app_factory()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Minimal-cost argon2 in tests: production cost would dominate the suite's time.

    The hashing code path is the same; only the parameters differ.
    """
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", fast)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", fast.hash("metricx-dummy-password"))
