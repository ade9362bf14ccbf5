"""The status endpoint shows each connection's next scheduled sync and its latest run's counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from metricx.models import Connection, SyncRun
from tests.factories import login_headers, make_tenant


async def test_status_shows_next_sync_and_latest_counters(client: httpx.AsyncClient, db) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    finished = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    async with db.transaction() as session:
        meta = Connection(
            workspace_id=tenant.workspace_id,
            provider="meta",
            external_account_id="act_1",
            name="Meta",
            next_sync_at=finished + timedelta(minutes=15),
        )
        paused = Connection(
            workspace_id=tenant.workspace_id,
            provider="tiktok",
            external_account_id="7",
            name="TikTok",
            status="paused",
        )
        session.add_all([meta, paused])
        await session.flush()
        session.add_all(
            [
                SyncRun(
                    workspace_id=tenant.workspace_id,
                    connection_id=meta.id,
                    kind="sync",
                    status="failed",
                    counters={"chunks": 1, "retry": True},
                    created_at=finished - timedelta(hours=1),
                ),
                SyncRun(
                    workspace_id=tenant.workspace_id,
                    connection_id=meta.id,
                    kind="sync",
                    status="succeeded",
                    rows_written=90,
                    counters={"chunks": 13, "facts_written": 90, "start": "2026-08-30"},
                    created_at=finished,
                ),
            ]
        )
    status = (await client.get(f"/api/workspaces/{tenant.workspace_id}/status", headers=h)).json()
    by_provider = {c["provider"]: c for c in status["connections"]}
    assert by_provider["meta"]["next_sync_at"].startswith("2026-11-27T10:15")
    assert by_provider["meta"]["last_run"]["counters"] == {
        "chunks": 13,
        "facts_written": 90,
        "start": "2026-08-30",
    }
    assert by_provider["tiktok"]["next_sync_at"] is None
    assert by_provider["tiktok"]["last_run"] is None
