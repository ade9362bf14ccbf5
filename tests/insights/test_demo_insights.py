"""On the demo data the insights name the campaign whose ROAS drops and the one that
outperforms (skipped until the demo generator, metricx.demo, is merged)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from metricx.db import Database
from metricx.insights import panel
from metricx.metrics.schemas import TimeframeSpec
from metricx.models import Workspace
from metricx.tenancy import AuthContext

demo = pytest.importorskip("metricx.demo")
demo_loader = pytest.importorskip("metricx.demo.loader")

END = date(2026, 3, 15)  # the demo's last day; "last 7 days" ends on it


def clock() -> datetime:
    return datetime.combine(END + timedelta(days=1), datetime.min.time(), tzinfo=UTC).replace(
        hour=12
    )


async def test_demo_insights_name_the_drop_and_the_star_campaign(db: Database) -> None:
    options = demo_loader.DemoOptions(workspaces=1, ads=60, days=35, seed=3, end_date=END)
    await demo_loader.load_demo(db, options)
    async with db.transaction() as session:
        ws = (await session.scalars(select(Workspace))).one()
        ctx = AuthContext(user_id=0, workspace_id=ws.id, role="viewer", timezone=ws.timezone,
                          currency=ws.currency, data_version=ws.data_version)  # fmt: skip
        tf, payload = await panel.compute(session, ctx, TimeframeSpec(key="last_7_days"), clock)
    assert tf.end == END
    drop, best = payload["insights"]
    assert drop["kind"] == "warning"
    assert drop["entity"]["label"] == demo.DROP_CAMPAIGN_NAME, drop
    assert best["kind"] == "opportunity"
    assert best["entity"]["label"] == demo.STAR_CAMPAIGN_NAME, best
