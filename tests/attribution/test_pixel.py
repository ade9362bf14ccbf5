"""Pixel ingest: auth by public key, limits, dedup, CORS, rate limit; nothing stored on 4xx."""

from __future__ import annotations

import orjson
import pytest

from metricx.attribution.ratelimit import RateLimiter
from metricx.db import Database
from metricx.models import PixelEvent
from tests.attribution.helpers import count, event, pixel_count, pixel_key
from tests.factories import make_tenant

URL = "/api/pixel/events"


async def test_single_event_and_batch_are_stored_and_deduplicated(db: Database, client) -> None:
    t = await make_tenant(db)
    key = await pixel_key(db, t.workspace_id)
    single = event(url="https://shop.test/?utm_source=facebook&utm_campaign=c1&fbclid=F")
    r = await client.post(URL, json=single, headers={"X-Metricx-Key": key})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 1, "stored": 1}
    batch = {"key": key, "events": [single, event(), event("product_viewed")]}
    r = await client.post(URL, content=orjson.dumps(batch), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 3, "stored": 2}  # the resent event is stored once
    assert await pixel_count(db) == 3
    stored = await count(db, PixelEvent, PixelEvent.utm_campaign == "c1", PixelEvent.fbclid == "F")
    assert stored == 1  # UTMs and click ids parsed from the url


async def test_checkout_completed_needs_a_token(db: Database, client) -> None:
    t = await make_tenant(db)
    key = await pixel_key(db, t.workspace_id)
    bad = {"key": key, "events": [event(), event("checkout_completed")]}
    r = await client.post(URL, json=bad)
    assert r.status_code == 422
    assert r.json()["fields"] == ["events.1.checkout_token"]
    ok = {"key": key, "events": [event("checkout_completed", checkout_token="tok")]}
    assert (await client.post(URL, json=ok)).status_code == 200
    assert await pixel_count(db) == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"", 400, "body"),
        (b"[1, 2]", 401, None),  # no key anywhere
    ],
)
async def test_malformed_bodies(db: Database, client, body: bytes, status: int, field) -> None:
    await make_tenant(db)
    r = await client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status
    if field:
        assert r.json()["fields"] == [field]
    assert await pixel_count(db) == 0


async def test_wrong_or_missing_key_is_401(db: Database, client) -> None:
    t = await make_tenant(db)
    await pixel_key(db, t.workspace_id)
    r = await client.post(URL, json={"events": [event()]})
    assert r.status_code == 401
    r = await client.post(URL, json={"key": "px_wrong", "events": [event()]})
    assert r.status_code == 401
    # A workspace id is not a credential.
    r = await client.post(URL, json={"workspace_id": t.workspace_id, "events": [event()]})
    assert r.status_code == 401
    assert await pixel_count(db) == 0


async def test_too_many_events_is_422_naming_the_field(db: Database, client) -> None:
    t = await make_tenant(db)
    key = await pixel_key(db, t.workspace_id)
    r = await client.post(URL, json={"key": key, "events": [event() for _ in range(101)]})
    assert r.status_code == 422
    assert r.json()["fields"] == ["events"]
    assert await pixel_count(db) == 0


async def test_oversized_body_is_413(db: Database, client) -> None:
    t = await make_tenant(db)
    key = await pixel_key(db, t.workspace_id)
    big = {"key": key, "events": [event(data={"blob": "x" * 300_000})]}
    r = await client.post(URL, content=orjson.dumps(big), headers={"Content-Type": "text/plain"})
    assert r.status_code == 413
    assert await pixel_count(db) == 0


async def test_invalid_event_rejects_the_whole_batch(db: Database, client) -> None:
    t = await make_tenant(db)
    key = await pixel_key(db, t.workspace_id)
    events = [event(), event(event_id="x" * 65), event(name="bought_a_boat")]
    r = await client.post(URL, json={"key": key, "events": events})
    assert r.status_code == 422
    assert r.json()["fields"] == ["events.1.event_id"]
    r = await client.post(URL, json={"key": key, "events": [event(), event(data=[1])]})
    assert r.json()["fields"] == ["events.1.data"]
    long_utm = event(utm_source="s" * 1000)
    assert (await client.post(URL, json={"key": key, "events": [long_utm]})).status_code == 200
    assert await pixel_count(db) == 1  # long UTMs are truncated, not rejected


async def test_cors_preflight_and_origin_enforcement(db: Database, client) -> None:
    t = await make_tenant(db)
    key = await pixel_key(db, t.workspace_id, origins="https://shop.test, https://www.shop.test")
    pre = await client.options(
        URL,
        headers={
            "Origin": "https://shop.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-metricx-key",
        },
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://shop.test"
    assert "X-Metricx-Key" in pre.headers["access-control-allow-headers"]
    denied = await client.options(f"{URL}?key={key}", headers={"Origin": "https://evil.test"})
    assert denied.status_code == 403
    ok = await client.post(
        URL, json={"key": key, "events": [event()]}, headers={"Origin": "https://shop.test"}
    )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://shop.test"
    bad = await client.post(
        URL, json={"key": key, "events": [event()]}, headers={"Origin": "https://evil.test"}
    )
    assert bad.status_code == 403
    assert await pixel_count(db) == 1


async def test_rate_limit_per_key_is_429_with_retry_after(db: Database, app_factory) -> None:
    import httpx

    app = await app_factory(pixel_rate_limit_per_minute=2)
    t = await make_tenant(db)
    key = await pixel_key(db, t.workspace_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        codes = [
            (await c.post(URL, json={"key": key, "events": [event()]})).status_code
            for _ in range(3)
        ]
        limited = await c.post(URL, json={"key": key, "events": [event()]})
    assert codes[:2] == [200, 200]
    assert codes[2] == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert await pixel_count(db) == 2


async def test_redis_failure_degrades_to_the_local_limit() -> None:
    limiter = RateLimiter(1, "redis://127.0.0.1:1/0")  # nothing listens there
    assert await limiter.retry_after("k") == 0
    assert await limiter.retry_after("k") > 0
    await limiter.close()


async def test_redis_limit_is_shared(redis_url: str) -> None:
    first, second = RateLimiter(1, redis_url), RateLimiter(1, redis_url)
    assert await first.retry_after("shared") == 0
    assert await second.retry_after("shared") > 0  # another process sees the same count
    await first.close()
    await second.close()


async def test_pixel_js_is_served_with_cache_and_js_type(client) -> None:
    r = await client.get("/pixel.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "max-age=" in r.headers["cache-control"]
    body = r.text
    for needle in (
        "mx_vid",
        "SameSite=Lax",
        "sendBeacon",
        "keepalive",
        "metricxConsent",
        "randomUUID",
        "data-key",
        "checkout_token",
        "ttclid",
    ):
        assert needle in body
