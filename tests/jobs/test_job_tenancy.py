"""Jobs carry their workspace: ids name it, and a job for workspace A cannot touch B."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from metricx.db import Database
from metricx.jobs import tasks
from metricx.jobs.scheduler import schedule_due_syncs
from metricx.jobs.tasks import job_id
from metricx.models import Connection, MetricFact, SyncRun
from tests.factories import login_headers, make_tenant
from tests.sync.fakes import NOW, FakeAds, add_connection


class RecordingQueue:
    """Stands in for the job queue: records what would run, runs nothing."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, dict[str, Any]]] = []

    async def enqueue(self, name: str, **kwargs: Any) -> bool:
        self.jobs.append((name, kwargs))
        return True

    async def close(self) -> None:
        """Nothing to release."""


async def _counts(db: Database, connection_id: int) -> tuple[int, int, int]:
    async with db.transaction() as s:
        conn = await s.get(Connection, connection_id)
        assert conn is not None
        runs = await s.scalar(
            select(func.count()).select_from(SyncRun).where(SyncRun.connection_id == connection_id)
        )
        facts = await s.scalar(
            select(func.count())
            .select_from(MetricFact)
            .where(MetricFact.connection_id == connection_id)
        )
        return int(runs or 0), int(facts or 0), conn.sync_generation or 0


def test_job_ids_name_the_workspace() -> None:
    assert job_id("sync_connection", {"connection_id": 7, "workspace_id": 3}) == "sync:3:7"
    assert job_id("attribute_orders", {"workspace_id": 3}) == "attribute:3"
    assert job_id("refresh_insights", {"workspace_id": 3}) == "insights:3"


async def test_a_job_for_one_workspace_cannot_sync_anothers_connection(
    db: Database, make_jc
) -> None:
    a = await make_tenant(db, "a@example.com")
    b = await make_tenant(db, "b@example.com")
    b_conn = await add_connection(db, b.workspace_id)
    jc = make_jc(FakeAds(3))
    before = await _counts(db, b_conn)
    out = await tasks.sync_connection(jc, connection_id=b_conn, workspace_id=a.workspace_id)
    assert out["status"] == "skipped" and out["error"] == "no such connection"
    assert await _counts(db, b_conn) == before  # no run, no fact, no state change
    # The same job for the right workspace does sync, so the skip above is tenancy.
    ok = await tasks.sync_connection(jc, connection_id=b_conn, workspace_id=b.workspace_id)
    assert ok["status"] == "succeeded"
    runs, facts, _ = await _counts(db, b_conn)
    assert runs == 1 and facts > 0


async def test_every_enqueue_site_passes_the_workspace(app, client, db, make_jc) -> None:
    tenant = await make_tenant(db)
    headers = await login_headers(client, tenant.email)
    queue = RecordingQueue()
    app.state.jobs = queue
    created = await client.post(
        f"/api/workspaces/{tenant.workspace_id}/connections",
        json={
            "provider": "meta",
            "external_account_id": "act_77",
            "credentials": {"access_token": "tok"},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    synced = await client.post(
        f"/api/workspaces/{tenant.workspace_id}/connections/{cid}/sync", json={}, headers=headers
    )
    assert synced.status_code == 202, synced.text
    # The scheduler too.
    other = await make_tenant(db, "other@example.com")
    due = await add_connection(db, other.workspace_id, next_sync_at=NOW - timedelta(minutes=1))
    jc = make_jc(FakeAds(1))
    jc.queue = queue
    await schedule_due_syncs(jc)

    syncs = [kw for name, kw in queue.jobs if name == "sync_connection"]
    assert len(syncs) >= 3, queue.jobs
    expected = {cid: tenant.workspace_id, due: other.workspace_id}
    for kwargs in syncs:
        assert kwargs.get("workspace_id") == expected[kwargs["connection_id"]], kwargs
        assert job_id("sync_connection", kwargs).startswith(f"sync:{kwargs['workspace_id']}:")
