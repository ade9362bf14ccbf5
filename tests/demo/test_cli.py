"""`metricx demo` as a command: loads, prints the login, --if-empty, and the bench sizing."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date

from sqlalchemy import text

from metricx.db import Database
from metricx.demo.loader import BENCH_ORDER_DAYS, BENCH_TOTAL_ADS, DemoOptions, build_plans
from metricx.demo.plan import identity
from tests.factories import make_tenant


async def run_cli(database: Database, *args: str) -> str:
    """Run `metricx demo ...` in a subprocess against the test database; returns its output."""
    env = {
        **os.environ,
        "METRICX_DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
        "METRICX_ENV": "test",
        "COLUMNS": "200",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from metricx.cli import app; app()",
        "demo",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_demo_command_loads_and_prints_the_login(sqlite_db: Database) -> None:
    out = await run_cli(sqlite_db, "--ads", "20", "--days", "21", "--end-date", "2026-02-01")
    assert "demo@metricx.local" in out and "rows/s" in out
    async with sqlite_db.transaction() as s:
        ws = (await s.execute(text("SELECT name, timezone, currency FROM workspaces"))).all()
        last = await s.scalar(text("SELECT max(event_date) FROM metric_facts"))
        # The orders come attributed, so `make run` shows channels on the first page.
        credited = await s.scalar(
            text(
                "SELECT count(DISTINCT order_id) FROM attributions WHERE channel <> 'unattributed'"
            )
        )
        orders = await s.scalar(text("SELECT count(*) FROM shopify_orders"))
    assert [tuple(w) for w in ws] == [("Northwind Outdoor", "America/New_York", "USD")]
    assert str(last) == "2026-02-01"
    assert orders and 0 < credited < orders


async def test_no_attribute_leaves_the_orders_unattributed(sqlite_db: Database) -> None:
    await run_cli(sqlite_db, "--ads", "20", "--days", "21", "--no-attribute")
    async with sqlite_db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM shopify_orders"))
        assert await s.scalar(text("SELECT count(*) FROM attributions")) == 0


async def test_if_empty_does_nothing_when_a_workspace_exists(sqlite_db: Database) -> None:
    await make_tenant(sqlite_db)
    out = await run_cli(sqlite_db, "--if-empty", "--ads", "20", "--days", "21")
    assert "nothing to do" in out
    async with sqlite_db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM workspaces")) == 1
        assert await s.scalar(text("SELECT count(*) FROM metric_facts")) == 0
        users = await s.scalar(text("SELECT count(*) FROM users WHERE email LIKE 'demo@%'"))
    assert users == 0


def test_bench_scale_reaches_ten_million_facts_with_a_large_workspace() -> None:
    options = DemoOptions(
        workspaces=200,
        days=400,
        total_ads=BENCH_TOTAL_ADS,
        order_days=BENCH_ORDER_DAYS,
        end_date=date(2026, 1, 1),
    )
    facts = largest = 0
    for plan in build_plans(options):
        facts += plan.fact_rows
        largest = max(largest, plan.ads)
    assert facts >= 10_000_000
    assert largest >= 2_000


def test_first_workspaces_are_not_utc_and_not_all_usd() -> None:
    assert identity(0)[1] != "UTC"
    assert identity(1)[2] != "USD"


def test_plans_do_not_depend_on_the_clock_or_other_workspaces() -> None:
    one = next(build_plans(DemoOptions(workspaces=1, end_date=date(2026, 1, 1))))
    again = next(build_plans(DemoOptions(workspaces=1, end_date=date(2026, 1, 1))))
    other_seed = next(build_plans(DemoOptions(workspaces=1, seed=1, end_date=date(2026, 1, 1))))
    names = [n.name for c in one.connections for n in c.nodes]
    assert names == [n.name for c in again.connections for n in c.nodes]
    assert one.fact_rows == again.fact_rows
    assert (one.daily_spend, one.aov) != (other_seed.daily_spend, other_seed.aov)
