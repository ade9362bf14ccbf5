"""Real data for the page tests: the demo loader, one attribution run, the real services.

Nothing here imitates a payload: `real_dashboard_payload` is what
`GET /api/workspaces/{id}/dashboard` returns (the service's JSON, round-tripped), so the
presenters are tested against the exact shape the page renders in production.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from metricx.attribution.service import run_attribution
from metricx.dashboard import service
from metricx.db import Database
from metricx.demo.loader import DEMO_EMAIL, DEMO_PASSWORD, DemoOptions, load_demo
from metricx.metrics.timeframes import system_clock
from metricx.models import Membership, User, Workspace
from metricx.responses import dumps
from metricx.tenancy import AuthContext
from tests.factories import Tenant

# Small enough for a page test (about a second), large enough for every card to fill.
SMALL_DEMO = DemoOptions(workspaces=1, ads=24, days=35, seed=7)


async def load_demo_tenant(db: Database, options: DemoOptions = SMALL_DEMO) -> Tenant:
    """The demo workspace with its attributions computed; sign in as the demo user."""
    await load_demo(db, options)
    async with db.transaction() as session:
        user = (await session.execute(select(User).where(User.email == DEMO_EMAIL))).scalar_one()
        workspace_id = await session.scalar(
            select(Membership.workspace_id)
            .where(Membership.user_id == user.id)
            .order_by(Membership.workspace_id)
        )
        assert workspace_id is not None
        await run_attribution(session, workspace_id)
    return Tenant(user.id, workspace_id, DEMO_EMAIL, DEMO_PASSWORD)


async def context_for(db: Database, tenant: Tenant) -> AuthContext:
    """The owner's AuthContext, as the edge builds it."""
    async with db.transaction() as session:
        ws = await session.get(Workspace, tenant.workspace_id)
        assert ws is not None
        return AuthContext(
            user_id=tenant.user_id,
            workspace_id=ws.id,
            role="owner",
            timezone=ws.timezone,
            currency=ws.currency,
            data_version=ws.data_version,
            attribution_model=ws.attribution_model,
            attribution_window_days=ws.attribution_window_days,
        )


async def real_dashboard_payload(
    db: Database, tenant: Tenant, timeframe: str = "last_30_days"
) -> dict[str, Any]:
    """The unified dashboard payload as the API serves it (JSON types, not Python ones)."""
    ctx = await context_for(db, tenant)
    async with db.transaction() as session:
        payload = await service.build_dashboard(
            session, ctx, service.DashboardRequest(timeframe), system_clock
        )
    return orjson.loads(dumps(payload))  # type: ignore[no-any-return]
