"""SIGTERM to `metricx serve` with a slow request and an in-process sync job in flight:
the request completes with 200, the job is finished (or recorded as interrupted and due
again, never lost), and the process exits 0."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from metricx.db import Database
from metricx.models import Connection, SyncRun
from tests.conftest import test_settings as db_settings
from tests.factories import login_headers, make_tenant
from tests.fakes.anthropic import FakeAnthropic, hang
from tests.fakes.meta import FakeMeta
from tests.reliability.app_process import ServeProcess
from tests.reliability.services import record
from tests.sync.fakes import add_connection

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

TZ = "Europe/Berlin"
LLM_DELAY = 2.5


async def _run(db: Database, connection_id: int) -> SyncRun | None:
    async with db.transaction() as s:
        return await s.scalar(
            select(SyncRun).where(SyncRun.connection_id == connection_id).order_by(SyncRun.id)
        )


async def test_sigterm_drains_the_slow_request_and_the_running_job(
    private_pg_url: str, tmp_path: Path
) -> None:
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    meta = FakeMeta(ads=20, days=90, end=today, currency="EUR", timezone=TZ)
    meta.start()
    llm = FakeAnthropic().start()
    llm.script(hang(LLM_DELAY), hang(LLM_DELAY))
    meta.hang_next(1_000_000, 0.08)  # the sync takes a few seconds
    db = Database(db_settings(private_pg_url), url=private_pg_url)
    serve = ServeProcess(
        tmp_path,
        private_pg_url,
        METRICX_SCHEDULER_INTERVAL_SECONDS="1",
        METRICX_META_GRAPH_URL=meta.url + "/v25.0",
        METRICX_ANTHROPIC_API_KEY="sk-fake",
        METRICX_ANTHROPIC_BASE_URL=llm.url,
        METRICX_ANTHROPIC_TIMEOUT_SECONDS="6",
    )
    try:
        tenant = await make_tenant(db, currency="EUR")
        cid = await add_connection(
            db, tenant.workspace_id, account="act_1234567890",
            credentials={"access_token": "meta-token"}, next_sync_at=datetime.now(UTC),
        )  # fmt: skip
        serve.start()
        async with httpx.AsyncClient(base_url=serve.url, timeout=30) as client:
            auth = await login_headers(client, tenant.email)
            deadline = time.monotonic() + 30
            while (run := await _run(db, cid)) is None or run.status != "running":
                assert time.monotonic() < deadline, serve.stderr()
                await asyncio.sleep(0.05)

            question = asyncio.create_task(
                client.post(
                    f"/api/workspaces/{tenant.workspace_id}/questions",
                    json={"question": "What was my spend last week?"},
                    headers=auth,
                )
            )
            await asyncio.sleep(0.7)  # the request is waiting on the slow model
            assert not question.done()
            serve.terminate()
            signalled = time.monotonic()
            response = await question
        answered = time.monotonic() - signalled
        assert response.status_code == 200, (response.text, serve.stderr())
        assert response.json().get("answer"), response.json()
        code = await asyncio.to_thread(serve.wait, 60)
        exited = time.monotonic() - signalled
        assert code == 0, serve.stderr()

        run = await _run(db, cid)
        assert run is not None
        async with db.transaction() as s:
            conn = await s.get(Connection, cid)
        assert conn is not None
        if run.status == "succeeded":
            outcome = "finished"
        else:  # cancelled after the drain window: recorded, and due again at once
            assert run.status == "failed" and "interrupted" in (run.error or ""), run.error
            assert conn.next_sync_at is not None and conn.next_sync_at <= datetime.now(UTC)
            outcome = "rescheduled"
    finally:
        serve.stop()
        meta.stop()
        llm.stop()
        await db.dispose()
    record(
        "graceful_shutdown",
        request_completed_after_sigterm_seconds=round(answered, 3),
        exit_after_sigterm_seconds=round(exited, 3),
        exit_code=code,
        in_flight_job=outcome,
    )
