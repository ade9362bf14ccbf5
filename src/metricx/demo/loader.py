"""Write demo plans to the database through the sync write path, one workspace per transaction.

SQLite goes through `upsert_facts` and PostgreSQL through `bulk_load_facts`; both are
idempotent upserts, so a second run with the same options rewrites the same rows.
"""

# Names use the en dash that ad managers and shops show, on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.attribution.service import run_attribution
from metricx.auth.repository import get_user_by_email
from metricx.auth.service import create_user
from metricx.db import Database
from metricx.demo.generator import (
    FactTuple,
    day_multipliers,
    iter_fact_chunks,
    iter_order_chunks,
    shop_domain,
)
from metricx.demo.names import TRACKING
from metricx.demo.plan import WorkspacePlan, plan_workspace, workspace_sizes
from metricx.models import Connection, Membership, User, Workspace
from metricx.sync.bulk import bulk_load_facts, relax_durability
from metricx.sync.writer import EntityRow, FactRow, upsert_entities, upsert_facts, upsert_orders
from metricx.workspaces.service import create_workspace

DEMO_EMAIL = "demo@metricx.local"
DEMO_PASSWORD = "demo"
BENCH_TOTAL_ADS = 34_000
BENCH_ORDER_DAYS = 60


@dataclass(slots=True)
class DemoOptions:
    """What to generate; the same options and end date always give the same rows."""

    workspaces: int = 1
    campaigns: int | None = None
    ads: int = 200
    total_ads: int | None = None
    days: int = 120
    order_days: int | None = None
    seed: int = 42
    end_date: date | None = None
    # Attribute the orders to the ads, as the first attribute_orders job would.
    attribute: bool = False


@dataclass(slots=True)
class DemoResult:
    """Counts of what a run wrote."""

    workspaces: int = 0
    entities: int = 0
    facts: int = 0
    orders: int = 0
    seconds: float = 0.0
    largest_ads: int = 0

    @property
    def rows(self) -> int:
        """All rows written."""
        return self.entities + self.facts + self.orders


def build_plans(options: DemoOptions) -> Iterator[WorkspacePlan]:
    """The workspace plans, one at a time (each is independent of the others)."""
    sizes = workspace_sizes(options.workspaces, options.ads, options.total_ads)
    for index, ads in enumerate(sizes):
        yield plan_workspace(
            index,
            seed=options.seed,
            ads=ads,
            days=options.days,
            campaigns=options.campaigns,
            # TikTok joins on every third workspace once there are a few.
            with_tiktok=options.workspaces >= 3 and index % 3 == 2,
            end_date=options.end_date,
            order_days=options.order_days,
        )


async def any_workspace(database: Database) -> bool:
    """Whether the database holds any workspace at all."""
    async with database.transaction() as session:
        return bool(await session.scalar(select(exists().where(Workspace.id.isnot(None)))))


async def ensure_demo_user(session: AsyncSession) -> User:
    """The demo user, created when missing."""
    user = await get_user_by_email(session, DEMO_EMAIL)
    if user is None:
        user = await create_user(session, DEMO_EMAIL, DEMO_PASSWORD, "Demo User")
    return user


async def _ensure_workspace(session: AsyncSession, user: User, plan: WorkspacePlan) -> Workspace:
    found = await session.scalar(
        select(Workspace)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(
            Membership.user_id == user.id,
            Membership.role == "owner",
            Workspace.name == plan.name,
        )
        .order_by(Workspace.id)
        .limit(1)
    )
    if found is not None:
        return found
    return await create_workspace(
        session, user, name=plan.name, timezone=plan.timezone, currency=plan.currency
    )


async def _ensure_connection(
    session: AsyncSession,
    workspace: Workspace,
    provider: str,
    external_id: str,
    name: str,
    domain: str | None = None,
) -> Connection:
    found = await session.scalar(
        select(Connection).where(
            Connection.workspace_id == workspace.id,
            Connection.provider == provider,
            Connection.external_account_id == external_id,
        )
    )
    if found is not None:
        return found
    conn = Connection(
        workspace_id=workspace.id,
        provider=provider,
        external_account_id=external_id,
        name=name,
        currency=workspace.currency,
        timezone=workspace.timezone,
        shop_domain=domain,
        status="active",
        settings={"demo": True},
    )
    session.add(conn)
    await session.flush()
    return conn


async def load_workspace(
    session: AsyncSession,
    user: User,
    plan: WorkspacePlan,
    progress: Callable[[int], None] | None = None,
    *,
    attribute: bool = False,
) -> DemoResult:
    """Write one workspace's connections, entities, facts and orders in the given session."""
    result = DemoResult(workspaces=1, largest_ads=plan.ads)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        await relax_durability(session)
    workspace = await _ensure_workspace(session, user, plan)
    day_mult = day_multipliers(plan)
    revenue_by_day = [0.0] * plan.days
    connections: list[Connection] = []
    for cplan in plan.connections:
        conn = await _ensure_connection(
            session, workspace, cplan.provider, cplan.external_account_id, cplan.name
        )
        connections.append(conn)
        rows = [
            EntityRow(
                level=node.level,
                external_id=node.external_id,
                name=node.name,
                status=node.status,
                parent_level=node.parent.level if node.parent else None,
                parent_external_id=node.parent.external_id if node.parent else None,
                goal=node.goal,
                tracking_params=None if node.level == "account" else TRACKING[cplan.provider],
                thumbnail_url=node.thumbnail,
            )
            for node in cplan.nodes
        ]
        ids = await upsert_entities(
            session,
            workspace_id=workspace.id,
            connection_id=conn.id,
            provider=cplan.provider,
            rows=rows,
        )
        result.entities += len(rows)
        chunks = iter_fact_chunks(
            plan, cplan, ids, day_mult, revenue_by_day, 50_000 if postgres else 5_000
        )
        if postgres:
            result.facts += await bulk_load_facts(
                session,
                workspace_id=workspace.id,
                connection_id=conn.id,
                provider=cplan.provider,
                chunks=chunks,
                on_chunk=progress,
            )
            continue
        for chunk in chunks:
            result.facts += await upsert_facts(
                session,
                workspace_id=workspace.id,
                connection_id=conn.id,
                provider=cplan.provider,
                rows=[_fact_row(t) for t in chunk],
            )
            if progress is not None:
                progress(len(chunk))
    shop = await _ensure_connection(
        session,
        workspace,
        "shopify",
        shop_domain(plan),
        f"{plan.name} – Shopify",
        domain=shop_domain(plan),
    )
    for orders in iter_order_chunks(plan, revenue_by_day):
        written = await upsert_orders(
            session, workspace_id=workspace.id, connection_id=shop.id, rows=orders, bump=False
        )
        result.orders += len(written)
    _mark_synced([*connections, shop], datetime.now(UTC))
    if attribute:
        await run_attribution(session, workspace.id)
    return result


def _mark_synced(connections: list[Connection], when: datetime) -> None:
    """Record the load as each connection's last successful sync.

    The demo writes what a sync would have written, so the dashboard's freshness
    ("updated just now") and the per-connection status tell the truth about the data.
    next_sync_at stays empty: demo connections have no credentials to sync with.
    """
    for conn in connections:
        conn.last_sync_started_at = when
        conn.last_sync_finished_at = when
        conn.last_success_at = when
        conn.last_error = None


def _fact_row(t: FactTuple) -> FactRow:
    return FactRow(
        entity_id=t[0],
        event_date=t[1],
        spend_micros=t[2],
        impressions=t[3],
        clicks=t[4],
        conversions=t[5],
        revenue_micros=t[6],
    )


async def load_demo(
    database: Database,
    options: DemoOptions,
    *,
    on_plan: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Write every planned workspace, each in its own transaction; returns the totals."""
    started = time.perf_counter()
    total = DemoResult()
    async with database.transaction() as session:
        user_id = (await ensure_demo_user(session)).id
    for plan in build_plans(options):
        if on_plan is not None:
            on_plan(plan.fact_rows)
        async with database.transaction() as session:
            user = await session.get(User, user_id)
            assert user is not None
            part = await load_workspace(session, user, plan, progress, attribute=options.attribute)
        total.workspaces += 1
        total.entities += part.entities
        total.facts += part.facts
        total.orders += part.orders
        total.largest_ads = max(total.largest_ads, part.largest_ads)
    total.seconds = time.perf_counter() - started
    return total


def planned_fact_rows(options: DemoOptions) -> int:
    """How many facts the options produce (plans only, no data generated)."""
    return sum(plan.fact_rows for plan in build_plans(options))
