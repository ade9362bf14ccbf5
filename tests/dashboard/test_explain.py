"""On PostgreSQL, with enough data for the planner to care, no dashboard query scans metric_facts.

Ten demo workspaces (about 110,000 facts over 120 days) are loaded and analysed; every
statement the dashboard and its drill-down endpoints send is recorded with its parameters
and EXPLAINed as sent. A sequential scan of metric_facts anywhere in a plan fails the test.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from metricx.db import Database, create_null_pool_engine
from metricx.demo.loader import DEMO_EMAIL, DemoOptions, load_demo
from metricx.main import create_app
from metricx.metrics.timeframes import local_today
from tests.conftest import test_settings as settings_for

pytestmark = pytest.mark.postgres


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.fixture
async def loaded(pg_db: Database, postgres_url: str) -> AsyncIterator[Database]:
    await load_demo(pg_db, DemoOptions(workspaces=10, ads=90, days=120, seed=3))
    engine = create_null_pool_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            # Index-only scans need the visibility map; statistics decide the plans.
            for table in ("metric_facts", "daily_rollups", "entity_summaries", "entities"):
                await conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    finally:
        await engine.dispose()
    yield pg_db


async def test_dashboard_queries_never_scan_metric_facts(loaded: Database, postgres_url: str):
    app = create_app(settings_for(postgres_url, cache_enabled=False))
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    recorded: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        recorded.append((statement, params))

    sync_engine = app.state.db.engine.sync_engine
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            login = await client.post(
                "/api/auth/login", json={"email": DEMO_EMAIL, "password": "demo"}
            )
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            workspaces = (await client.get("/api/workspaces", headers=headers)).json()
            ws = workspaces[0]["id"]  # the largest demo workspace
            end = local_today("America/New_York") - timedelta(days=1)
            p = f"/api/workspaces/{ws}"
            paths = [
                f"{p}/dashboard?timeframe=last_7_days",
                f"{p}/dashboard?timeframe=last_30_days",
                f"{p}/dashboard?start={end - timedelta(days=29)}&end={end}",
                f"{p}/dashboard?start={end - timedelta(days=110)}&end={end}",
                f"{p}/dashboard/kpis?timeframe=last_30_days",
                f"{p}/entities?level=campaign&timeframe=last_30_days&sort=spend",
                f"{p}/entities?level=ad&timeframe=last_7_days&sort=roas&page_size=5",
                f"{p}/entities?level=ad&start={end - timedelta(days=13)}&end={end}&sort=spend",
            ]
            event.listen(sync_engine, "before_cursor_execute", record)
            for path in paths:
                response = await client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.text)
            event.remove(sync_engine, "before_cursor_execute", record)
    finally:
        await lifespan.__aexit__(None, None, None)

    facts_statements = [(sql, params) for sql, params in recorded if "metric_facts" in sql]
    assert facts_statements, "the custom ranges and entity rows should read metric_facts"
    engine = create_null_pool_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.execute("SET max_parallel_workers_per_gather = 0")
            for sql, params in recorded:
                if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                args = list(params) if isinstance(params, list | tuple) else []
                plan = await raw.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
                plan = json.loads(plan) if isinstance(plan, str) else plan
                scans = [
                    n
                    for n in _nodes(plan[0]["Plan"])
                    if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "metric_facts"
                ]
                assert not scans, f"sequential scan of metric_facts:\n{sql}\n{plan}"
    finally:
        await engine.dispose()
