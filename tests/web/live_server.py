"""A real uvicorn server on 127.0.0.1 in a background thread, seeded with its own SQLite
database, serving the pages plus stand-ins for the JSON endpoints the pages call
(insights, attribution feed, members, invites, connections, questions) that other
branches build. The stand-ins follow the contracts the page scripts expect.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse

from metricx.db import Database
from metricx.main import create_app
from metricx.migrate import upgrade_database
from metricx.models import Connection
from metricx.web import data
from tests.conftest import test_settings
from tests.factories import Tenant, make_tenant
from tests.web.payload_fixture import sample_dashboard_payload, sample_entities


@dataclass
class LiveServer:
    """The running server, its seeded tenant and the knobs of the stand-in endpoints."""

    url: str
    tenant: Tenant
    insights_delay: float = 0.0
    calls: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stand_in_api(live: LiveServer) -> APIRouter:
    """JSON endpoints owned by other branches, answering with their contracts' shapes."""
    router = APIRouter(prefix="/api/workspaces/{workspace_id}")

    @router.get("/insights")
    async def insights(request: Request, workspace_id: int) -> dict[str, Any]:
        live.calls.append("insights")
        deadline = asyncio.get_running_loop().time() + live.insights_delay
        while asyncio.get_running_loop().time() < deadline:
            if await request.is_disconnected():
                break
            await asyncio.sleep(0.1)
        # The insights branch's Insight.to_json() shape.
        first = {"kind": "opportunity", "title": "ROAS up on Meta", "metric": "roas"}
        second = {"kind": "warning", "title": "CPA rising on TikTok", "metric": "cpa"}
        first["text"] = "Retargeting 7d drove most of the gain."
        second["text"] = "Spark ads CPA rose 18%."
        return {"insights": [first, second]}

    @router.get("/attribution/feed")
    async def feed(workspace_id: int) -> dict[str, Any]:
        live.calls.append("feed")
        # The attribution branch's reads.feed() shape.
        touch = {"channel": "google", "entity": {"id": 3, "name": "Brand search"}}
        order = {"order_id": 9, "order_number": "1044", "currency": "USD"}
        order.update(revenue_micros=64_000_000, touches=[touch])
        return {"model": "last_click", "window_days": 7, "orders": [order]}

    @router.get("/members")
    async def members(workspace_id: int) -> dict[str, Any]:
        return {"members": [{"name": "Owner", "email": live.tenant.email, "role": "owner"}]}

    @router.get("/invites")
    async def invites(workspace_id: int) -> dict[str, Any]:
        return {"invites": [{"email": "analyst@example.com", "role": "viewer"}]}

    @router.get("/connections")
    async def connections(workspace_id: int) -> dict[str, Any]:
        ago = (datetime.now(UTC) - timedelta(minutes=4)).isoformat()
        return {
            "connections": [
                {
                    "id": 1,
                    "provider": "meta",
                    "name": "Meta Ads",
                    "status": "active",
                    "last_success_at": ago,
                },
                {
                    "id": 2,
                    "provider": "shopify",
                    "name": "demo.myshopify.com",
                    "status": "error",
                    "last_success_at": None,
                    "last_error": "Token revoked",
                },
            ]
        }

    @router.post("/connections/{connection_id}/sync", status_code=202)
    async def sync_now(workspace_id: int, connection_id: int, request: Request) -> dict:
        csrf_ok = request.headers.get("x-csrf-token") == request.cookies.get("mx_csrf")
        live.calls.append(f"sync:{connection_id}:{csrf_ok}")
        return {"job": "queued"}

    @router.get("/connections/oauth/accounts")
    async def oauth_accounts(workspace_id: int, grant: str) -> dict[str, Any]:
        live.calls.append(f"oauth_accounts:{grant}")
        eu = {"id": "act_1", "name": "Brand EU", "currency": "EUR", "timezone": "Europe/Berlin"}
        us = {"id": "act_2", "name": "Brand US", "currency": "USD", "timezone": None}
        return {
            "provider": "meta",
            "accounts": [{**eu, "connected": False}, {**us, "connected": True}],
        }

    @router.post("/connections/oauth/accounts", status_code=201)
    async def oauth_connect(workspace_id: int, request: Request) -> list[dict[str, Any]]:
        csrf_ok = request.headers.get("x-csrf-token") == request.cookies.get("mx_csrf")
        body = await request.json()
        ids = ",".join(body["account_ids"])
        live.calls.append(f"oauth_connect:{csrf_ok}:{body['grant']}:{ids}")
        return [{"id": 3, "provider": "meta", "name": "Brand EU", "status": "active"}]

    @router.patch("")
    @router.patch("/attribution/settings")
    async def save_settings(workspace_id: int, request: Request) -> dict[str, Any]:
        csrf_ok = request.headers.get("x-csrf-token") == request.cookies.get("mx_csrf")
        live.calls.append(f"patch:{request.url.path}:{csrf_ok}:{(await request.body()).decode()}")
        return {"id": workspace_id}

    @router.post("/questions")
    async def questions(workspace_id: int, request: Request) -> StreamingResponse:
        body = await request.json()
        live.calls.append(f"question:{body.get('question')}")

        async def events():  # type: ignore[no-untyped-def]
            def event(name: str, payload: Any) -> bytes:
                return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

            yield event("thinking", {"stage": "computing"})
            for token in ["Meta ", "spent ", "the most: ", "$4,210.00."]:
                await asyncio.sleep(0.02)
                yield event("token", {"text": token})
            # The insights branch's bar visual: one metric column, cells {value, formatted}.
            spend = {"key": "spend", "label": "Spend", "unit": "currency"}
            bars = [
                {"key": key, "label": label, "spend": {"value": value, "formatted": text}}
                for key, label, value, text in (
                    ("meta", "Meta", 4210.0, "$4,210.00"),
                    ("google", "Google Ads", 2300.5, "$2,300.50"),
                )
            ]
            yield event("visual", {"type": "bar", "metric": spend, "bars": bars})
            yield event(
                "done",
                {
                    "query": {
                        "metrics": ["spend"],
                        "breakdown": "provider",
                        "timeframe": "this_month",
                    }
                },
            )

        return StreamingResponse(events(), media_type="text/event-stream")

    return router


def start_live_server(tmp: Path) -> tuple[LiveServer, uvicorn.Server, threading.Thread]:
    """Migrate and seed a SQLite file, then serve the app until `server.should_exit`."""
    url = f"sqlite+aiosqlite:///{tmp / 'browser.db'}"
    port = _free_port()
    settings = test_settings(url)
    app: FastAPI = create_app(settings)
    live = LiveServer(url=f"http://127.0.0.1:{port}", tenant=Tenant(0, 0, ""))
    before = len(app.router.routes)
    app.include_router(stand_in_api(live))
    # Stand-ins answer before real routes of the same path, once those are merged too.
    moved = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = moved
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    ready = threading.Event()

    async def dashboard(session, ctx, tf):  # type: ignore[no-untyped-def]
        return sample_dashboard_payload(ctx, tf, name="Northwind Outfitters")

    async def entities(session, ctx, params):  # type: ignore[no-untyped-def]
        return sample_entities(ctx, params)

    async def main() -> None:
        await upgrade_database(url)
        database = Database(settings, url=url)
        live.tenant = await make_tenant(database, "demo@metricx.local", name="Northwind Outfitters")
        await make_tenant(database, "other@example.com", name="Other brand")
        async with database.transaction() as session:
            session.add(
                Connection(
                    workspace_id=live.tenant.workspace_id,
                    provider="meta",
                    external_account_id="act_1",
                    name="Meta Ads",
                )
            )
        await database.dispose()
        data.set_payload_builder(dashboard)
        data.set_entities_builder(entities)
        ready.set()
        await server.serve()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("live server did not seed in time")
    for _ in range(300):
        if server.started:
            break
        threading.Event().wait(0.05)
    return live, server, thread


def stop_live_server(server: uvicorn.Server, thread: threading.Thread) -> None:
    """Stop serving and restore the real payload builders."""
    server.should_exit = True
    thread.join(10)
    data.set_payload_builder(None)
    data.set_entities_builder(None)
