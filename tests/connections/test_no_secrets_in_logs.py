"""No secret reaches the logs: everything written to stderr (structlog and the standard
library, at DEBUG) during connect, sync against a fake provider (good and rejected token),
sign-in, password reset, webhooks and an unhandled error is scanned for every secret."""

from __future__ import annotations

import io
import secrets
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from metricx.auth import reset
from metricx.logging import configure_logging
from tests.attribution.helpers import dumps, order_payload, shopify_connection, webhook_headers

SHOPIFY_SECRET = "shpss_" + secrets.token_hex(12)
APP_SECRET_KEY = "app-secret-" + secrets.token_hex(20)


@pytest.fixture
def log_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """stderr as a buffer that never closes: the app's logging is bound to it at creation.

    Late writes (teardown's slow-query warnings) land here harmlessly; afterwards logging
    is bound to the real stderr again.
    """
    sink = io.StringIO()
    yield sink
    monkeypatch.undo()
    configure_logging("WARNING")


def bind_stderr(monkeypatch: pytest.MonkeyPatch, sink: io.StringIO) -> None:
    # In the test body: pytest swaps sys.stderr at the start of each phase.
    monkeypatch.setattr(sys, "stderr", sink)


async def test_no_secret_is_logged_across_the_sensitive_flows(
    log_sink, app_factory, db, fake_meta, monkeypatch
) -> None:
    good_token = "EAAB" + secrets.token_hex(16)
    bad_token = "EAAB" + secrets.token_hex(16)
    password = "pw-" + secrets.token_hex(8)
    new_password = "pw-" + secrets.token_hex(8)
    bind_stderr(monkeypatch, log_sink)
    meta = fake_meta(ads=3, days=3, token=good_token, currency="USD", timezone="UTC")
    app = await app_factory(
        env="production",
        secret_key=APP_SECRET_KEY,
        log_level="DEBUG",
        shopify_app_secret=SHOPIFY_SECRET,
        meta_graph_url=meta.url + "/v25.0",
    )
    captured: list[str] = []
    real_deliver = reset.deliver_reset_link

    def deliver(settings: Any, base_url: str, secret: str) -> None:
        captured.append(secret)
        real_deliver(settings, base_url, secret)

    monkeypatch.setattr(reset, "deliver_reset_link", deliver)
    seen: list[str] = [good_token, bad_token, password, new_password, SHOPIFY_SECRET]
    seen.append(APP_SECRET_KEY)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        reg = await c.post(
            "/api/auth/register", json={"email": "o@example.com", "password": password}
        )
        assert reg.status_code == 201, reg.text
        session_token = reg.json()["access_token"]
        seen.append(session_token)
        h = {"Authorization": f"Bearer {session_token}"}
        ws = (await c.post("/api/workspaces", json={"name": "Brand"}, headers=h)).json()["id"]
        other = (await c.post("/api/workspaces", json={"name": "Two"}, headers=h)).json()["id"]
        for workspace, token in ((ws, good_token), (other, bad_token)):
            r = await c.post(
                f"/api/workspaces/{workspace}/connections",
                json={
                    "provider": "meta",
                    "external_account_id": "act_" + meta.account_id,
                    "credentials": {"access_token": token},
                },
                headers=h,
            )
            assert r.status_code == 201, r.text
        await app.state.jobs.join()  # both first syncs ran: one succeeds, one is refused
        statuses = [
            (await c.get(f"/api/workspaces/{w}/connections", headers=h)).json()[0]["status"]
            for w in (ws, other)
        ]
        assert statuses == ["active", "needs_reauth"], statuses

        api_token = (await c.post("/api/auth/tokens", json={"name": "ci"}, headers=h)).json()
        seen.append(api_token["token"])
        bad = await c.post("/api/auth/login", json={"email": "o@example.com", "password": "x"})
        assert bad.status_code == 401
        for email in ("o@example.com", "nobody@example.com"):
            await c.post("/api/auth/password-reset", json={"email": email})
        (reset_secret,) = captured
        seen.append(reset_secret)
        done = await c.post(
            "/api/auth/password-reset/confirm",
            json={"token": reset_secret, "new_password": new_password},
        )
        assert done.status_code == 204
        login = await c.post(
            "/api/auth/login", json={"email": "o@example.com", "password": new_password}
        )
        seen.append(login.json()["access_token"])
        await c.get("/api/auth/me", headers={"Authorization": f"Bearer {seen[-1]}x"})

        await shopify_connection(db, ws)
        body = dumps(order_payload())
        ok = await c.post(
            "/api/webhooks/shopify/orders-create",
            content=body,
            headers=webhook_headers(body, "orders/create", secret=SHOPIFY_SECRET),
        )
        assert ok.status_code == 200, ok.text
        forged = await c.post(
            "/api/webhooks/shopify/orders-create",
            content=body,
            headers=webhook_headers(body, "orders/create", secret="wrong"),
        )
        assert forged.status_code == 401
        await app.state.jobs.join()  # the attribution run the order queued logs too

    logs = log_sink.getvalue()
    assert "auth.password_reset_requested" in logs  # proves the capture sees the app's logs
    assert "sync." in logs
    leaked = [s[:12] + "…" for s in seen if s in logs]
    assert not leaked, f"secrets found in the logs: {leaked}"


def test_logged_exceptions_do_not_print_local_variables(
    log_sink: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tracebacks in logs must not render frame locals, where tokens live."""
    bind_stderr(monkeypatch, log_sink)
    token = "EAAB" + secrets.token_hex(16)
    for as_json in (False, True):
        configure_logging("INFO", json=as_json)
        log = structlog.get_logger("metricx.test")

        def call_provider(access_token: str) -> None:
            credentials = {"access_token": access_token}
            raise RuntimeError(f"provider failed for {len(credentials)} credential")

        try:
            call_provider(token)
        except RuntimeError:
            log.exception("sync.unexpected_error", access_token=token)
        err = log_sink.getvalue()
        log_sink.seek(0)
        log_sink.truncate()
        assert "sync.unexpected_error" in err and "RuntimeError" in err
        assert token not in err, f"json={as_json}: a token in a logged traceback"
