"""Providers that hang, answer 5xx or answer garbage: bounded timeouts, retries with
backoff, a clear error on the sync run and the connection, and the API stays fast while
the failing sync runs on the same event loop. Anthropic failures fall back to the
deterministic answer within the configured deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from metricx.crypto import SecretBox
from metricx.db import Database
from metricx.main import create_app
from metricx.models import Connection, SyncRun
from tests.factories import login_headers, make_tenant
from tests.fakes import anthropic as llm_steps
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.fixtures import RecordingSleep, settings_for
from tests.fakes.google_ads import FakeGoogleAds
from tests.fakes.meta import FakeMeta
from tests.fakes.shopify import FakeShopify
from tests.reliability.services import record

pytestmark = pytest.mark.timeout(60)

HTTP_TIMEOUT = 0.5
HANG_SECONDS = 3.0
ATTEMPTS = 5  # RetryPolicy.max_transient_attempts
API_BOUND = 1.0  # seconds: a dashboard request while a provider misbehaves
FAULTS = ("hang", "5xx", "garbage")


class Faulty:
    """ASGI wrapper in front of a fake provider: every request hangs, 503s or gets junk."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.mode: str | None = None
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.mode is None:
            await self.app(scope, receive, send)
            return
        self.requests += 1
        if self.mode == "hang":
            await asyncio.sleep(HANG_SECONDS)
            await self.app(scope, receive, send)
            return
        status, body = (503, b"upstream unavailable") if self.mode == "5xx" else (200, b'{"da')
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass
class Provider:
    name: str
    fake: Any
    account: str
    credentials: dict[str, str]
    currency: str
    shop_domain: str | None = None


def _provider(name: str) -> Provider:
    if name == "meta":
        return Provider(name, FakeMeta(ads=5, days=10), "act_1234567890",
                        {"access_token": "meta-token"}, "EUR")  # fmt: skip
    if name == "google":
        creds = {"developer_token": "dev-token", "refresh_token": "refresh-token",
                 "client_id": "client-id", "client_secret": "client-secret"}  # fmt: skip
        return Provider(name, FakeGoogleAds(ads=5, days=10), "1234567890", creds, "USD")
    return Provider(name, FakeShopify(orders=20, days=10), "fake-shop.myshopify.com",
                    {"access_token": "shpat_fake"}, "USD", "fake-shop.myshopify.com")  # fmt: skip


@pytest.fixture
async def live_provider(request: pytest.FixtureRequest) -> AsyncIterator[Provider]:
    provider = _provider(request.param)
    faulty = Faulty(provider.fake.app)
    provider.fake.app = faulty
    provider.fake.start()
    try:
        yield provider
    finally:
        faulty.mode = None
        provider.fake.stop()


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("live_provider", ["meta", "google", "shopify"], indirect=True)
async def test_failing_provider_is_bounded_recorded_and_does_not_slow_the_api(
    live_provider: Provider, fault: str, sqlite_db: Database, sqlite_url: str
) -> None:
    p = live_provider
    fakes = {p.name: p.fake}
    settings = settings_for(
        **fakes, database_url=sqlite_url, http_timeout_seconds=HTTP_TIMEOUT,
        scheduler_interval_seconds=0, jobs_inline=True, log_level="WARNING",
    )  # fmt: skip
    tenant = await make_tenant(sqlite_db, currency=p.currency)
    async with sqlite_db.transaction() as s:
        conn = Connection(
            workspace_id=tenant.workspace_id, provider=p.name, external_account_id=p.account,
            name=p.name, shop_domain=p.shop_domain, settings={}, sync_frequency_minutes=15,
            credentials_encrypted=SecretBox.from_settings(settings).encrypt_json(p.credentials),
        )  # fmt: skip
        s.add(conn)
        await s.flush()
        cid = conn.id
    sleep = RecordingSleep()

    def factory(**kw: Any) -> Any:
        return _with_sleep(kw, sleep)

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.job_context.connector_factory = factory
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            auth = await login_headers(client, tenant.email)
            await client.get(f"/api/workspaces/{tenant.workspace_id}/dashboard", headers=auth)
            p.fake.app.mode = fault
            started = time.monotonic()
            r = await client.post(
                f"/api/workspaces/{tenant.workspace_id}/connections/{cid}/sync", headers=auth
            )
            assert r.status_code == 202, r.text
            latencies = []
            while app.state.jobs.pending:
                t0 = time.monotonic()
                d = await client.get(f"/api/workspaces/{tenant.workspace_id}/dashboard",
                                     headers=auth)  # fmt: skip
                latencies.append(time.monotonic() - t0)
                assert d.status_code == 200, d.text
                await asyncio.sleep(0.05)
            await app.state.jobs.join()
            job_seconds = time.monotonic() - started
            status = await client.get(
                f"/api/workspaces/{tenant.workspace_id}/connections", headers=auth
            )
    async with sqlite_db.transaction() as s:
        run = await s.scalar(select(SyncRun).where(SyncRun.connection_id == cid))
        conn = await s.get(Connection, cid)
    assert run is not None and conn is not None
    assert run.status == "failed", (run.status, run.error)
    assert run.error and conn.last_error == run.error
    shown = {c["id"]: c for c in status.json()}[cid] if isinstance(status.json(), list) else None
    if shown is not None:
        assert shown.get("last_error") == run.error
    if fault in ("hang", "5xx"):
        # Transient: retried with growing backoff, then handed to the job's own retry.
        assert p.fake.app.requests >= ATTEMPTS
        assert len(sleep.waits) >= ATTEMPTS - 1
        assert sleep.waits[ATTEMPTS - 2] > sleep.waits[0]
        assert "Temporary provider error" in run.error, run.error
        assert conn.status == "active" and conn.next_sync_at is not None
    else:
        assert conn.status == "error", (conn.status, run.error)
    # Every attempt is bounded by the client timeout (plus backoff, which is recorded).
    bound = (ATTEMPTS * (HTTP_TIMEOUT + 0.5) + 2) * (2 if p.name == "google" else 1)
    assert job_seconds < bound, (job_seconds, run.error)
    worst = max(latencies, default=0.0)
    assert worst < API_BOUND, latencies
    record(
        f"provider_{p.name}_{fault}",
        job_failed_after_seconds=round(job_seconds, 3),
        provider_requests=p.fake.app.requests,
        backoff_waits=[round(w, 2) for w in sleep.waits[:6]],
        api_max_latency_seconds=round(worst, 3),
        error=run.error[:160],
    )


def _with_sleep(kw: dict[str, Any], sleep: RecordingSleep) -> Any:
    from metricx.connectors.registry import build_connector
    from metricx.sync.connectors import external_id_for

    return build_connector(
        kw["connection"].provider, http=kw["http"], settings=kw["settings"],
        external_id=external_id_for(kw["connection"]), credentials=kw["credentials"],
        sleep=sleep,
    )  # fmt: skip


LLM_TIMEOUT = 1.0
LLM_FAULTS = {
    "hang": lambda: [llm_steps.hang(HANG_SECONDS) for _ in range(6)],
    "5xx": lambda: [llm_steps.api_error() for _ in range(6)],
    "garbage": lambda: [llm_steps.Step(status=200, body={"no": "message"}) for _ in range(6)],
}


@pytest.fixture(scope="module")
def anthropic_fake() -> Any:
    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.mark.parametrize("fault", FAULTS)
async def test_failing_llm_falls_back_to_the_deterministic_answer_in_time(
    anthropic_fake: FakeAnthropic, fault: str, sqlite_db: Database, sqlite_url: str
) -> None:
    settings = settings_for(
        database_url=sqlite_url, scheduler_interval_seconds=0, jobs_inline=True,
        anthropic_api_key="sk-fake", anthropic_base_url=anthropic_fake.url,
        anthropic_timeout_seconds=LLM_TIMEOUT, log_level="WARNING", cache_enabled=False,
    )  # fmt: skip
    tenant = await make_tenant(sqlite_db)
    anthropic_fake.script(*LLM_FAULTS[fault]())
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            auth = await login_headers(client, tenant.email)
            ws = tenant.workspace_id
            await client.get(f"/api/workspaces/{ws}/dashboard", headers=auth)  # warm up
            started = time.monotonic()
            ask = asyncio.create_task(
                client.post(f"/api/workspaces/{ws}/questions",
                            json={"question": "What was my ROAS last week?"}, headers=auth)
            )  # fmt: skip
            latencies = []
            while not ask.done():
                t0 = time.monotonic()
                d = await client.get(f"/api/workspaces/{ws}/dashboard", headers=auth)
                latencies.append(time.monotonic() - t0)
                assert d.status_code == 200, d.text
                await asyncio.sleep(0.05)
            r = await ask
            answered = time.monotonic() - started
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["engine"] == "rules" and body["answer"], body
    assert anthropic_fake.requests, "the model was never asked"
    # One deadline per model call (translate, then phrase), never the fake's hang.
    assert answered < 2 * LLM_TIMEOUT + 1.5, answered
    assert max(latencies, default=0.0) < API_BOUND, latencies
    record(
        f"provider_anthropic_{fault}",
        answered_with_fallback_after_seconds=round(answered, 3),
        model_requests=len(anthropic_fake.requests),
        api_max_latency_seconds=round(max(latencies, default=0.0), 3),
    )
