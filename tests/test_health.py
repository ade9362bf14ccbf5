"""Liveness and readiness probes."""

from __future__ import annotations


async def test_healthz(client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "server-timing" in response.headers
    assert response.headers["x-request-id"]


async def test_readyz_checks_the_database(client) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_readyz_reports_redis_down(app_factory) -> None:
    import httpx

    app = await app_factory(redis_url="redis://127.0.0.1:1/0")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")


async def test_unknown_route_is_json_404(client) -> None:
    response = await client.get("/api/nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_oversized_body_is_413(client) -> None:
    response = await client.post("/api/auth/login", content=b"x" * 2_000_000)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
