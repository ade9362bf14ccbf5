"""Fixtures of the fault tests: private PostgreSQL and Redis that tests stop and start.

Missing binaries skip the tests, or fail them under METRICX_TEST_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text

from metricx.db import create_null_pool_engine
from metricx.migrate import upgrade_database
from tests.conftest import _service_missing
from tests.reliability.services import PrivatePostgres, PrivateRedis, pg_bin_dir


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test session only, started."""
    bin_dir = pg_bin_dir()
    if bin_dir is None or (shutil.which("runuser") is None and _is_root()):
        _service_missing("PostgreSQL server binaries (initdb, pg_ctl)")
    assert bin_dir is not None
    pg = PrivatePostgres(bin_dir)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
async def private_pg_url(private_pg: PrivatePostgres) -> AsyncIterator[str]:
    """A fresh migrated database on the private cluster (dropped after the test)."""
    if not _port(private_pg):
        private_pg.start()  # a previous test left it stopped
    name = f"rel_{uuid.uuid4().hex[:8]}"
    admin = create_null_pool_engine(private_pg.url())
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = private_pg.url(name)
    await upgrade_database(url)
    try:
        yield url
    finally:
        if not _port(private_pg):
            private_pg.start()
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test only, started."""
    binary = shutil.which("redis-server")
    if binary is None:
        _service_missing("redis-server")
    assert binary is not None
    server = PrivateRedis(binary)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


def _port(pg: PrivatePostgres) -> bool:
    from tests.reliability.services import port_open

    return port_open(pg.port)
