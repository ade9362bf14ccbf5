"""The last-resort error handler: database outages are 503, database bugs are 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError, OperationalError


def _raising(exc: Exception):  # type: ignore[no-untyped-def]
    async def endpoint() -> None:
        raise exc

    return endpoint


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (
            OperationalError("SELECT 1", {}, Exception("connection refused")),
            503,
            "service_unavailable",
        ),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), 500, "internal_error"),
    ],
)
async def test_integrity_errors_are_bugs_not_outages(app_factory, exc, status, code) -> None:  # type: ignore[no-untyped-def]
    app = await app_factory()
    app.router.routes.insert(0, APIRoute("/api/_raise", _raising(exc), methods=["GET"]))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/api/_raise")
    assert response.status_code == status
    assert response.json()["error"] == code
    assert ("retry-after" in response.headers) is (status == 503)
