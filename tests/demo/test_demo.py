"""The demo dataset: idempotent, consistent rollups, the named ROAS changes, realistic orders."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from metricx.db import Database
from metricx.demo import DROP_CAMPAIGN_NAME, STAR_CAMPAIGN_NAME
from metricx.demo.loader import DEMO_EMAIL, DemoOptions, load_demo

END = date(2026, 3, 15)
SMALL = DemoOptions(workspaces=2, ads=30, days=30, seed=7, end_date=END)

SNAPSHOT_SQL = {
    "entities": """
        SELECT c.provider, c.external_account_id, e.level, e.external_id, e.name, e.status,
               p.external_id, e.goal, e.tracking_params, e.thumbnail_url
        FROM entities e JOIN connections c ON c.id = e.connection_id
        LEFT JOIN entities p ON p.id = e.parent_id""",
    "metric_facts": """
        SELECT w.name, e.provider, e.level, e.external_id, f.event_date, f.spend_micros,
               f.impressions, f.clicks, f.conversions, f.revenue_micros, f.provider
        FROM metric_facts f JOIN entities e ON e.id = f.entity_id
        JOIN workspaces w ON w.id = f.workspace_id""",
    "daily_rollups": """
        SELECT w.name, r.event_date, r.provider, r.spend_micros, r.impressions, r.clicks,
               r.conversions, r.revenue_micros, r.fact_rows
        FROM daily_rollups r JOIN workspaces w ON w.id = r.workspace_id""",
    "shopify_orders": """
        SELECT w.name, o.external_id, o.order_number, o.created_at_shop, o.order_date,
               o.source_updated_at, o.currency, o.total_micros, o.subtotal_micros,
               o.tax_micros, o.shipping_micros, o.discounts_micros, o.refunded_micros,
               o.cogs_micros, o.financial_status, o.customer_email_hash, o.landing_site,
               o.referring_site, o.utm_source, o.utm_medium, o.utm_campaign, o.utm_content,
               o.fbclid, o.gclid, o.ttclid, o.checkout_token
        FROM shopify_orders o JOIN workspaces w ON w.id = o.workspace_id""",
    "shopify_order_lines": """
        SELECT o.external_id, l.external_id, l.product_id, l.variant_id, l.sku, l.title,
               l.quantity, l.price_micros, l.cogs_micros
        FROM shopify_order_lines l JOIN shopify_orders o ON o.id = l.order_id""",
    "workspaces": "SELECT name, timezone, currency FROM workspaces",
    "connections": "SELECT provider, external_account_id, name, shop_domain FROM connections",
}


async def snapshot(db: Database) -> dict[str, list[tuple]]:
    """Every demo table's rows by natural keys, sorted (ids and timestamps left out)."""
    out = {}
    async with db.transaction() as s:
        for table, sql in SNAPSHOT_SQL.items():
            rows = (await s.execute(text(sql))).all()
            out[table] = sorted((tuple(map(str, r)) for r in rows), key=repr)
    return out


async def test_running_twice_with_the_same_seed_leaves_the_same_rows(db: Database) -> None:
    first_result = await load_demo(db, SMALL)
    first = await snapshot(db)
    second_result = await load_demo(db, SMALL)
    second = await snapshot(db)
    assert first_result.facts == second_result.facts > 0
    assert first_result.orders == second_result.orders > 0
    for table in SNAPSHOT_SQL:
        assert len(first[table]) > 0, table
        assert first[table] == second[table], table
    async with db.transaction() as s:
        owners = await s.scalar(
            text(
                "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id "
                "WHERE u.email = :e AND m.role = 'owner'"
            ),
            {"e": DEMO_EMAIL},
        )
    assert owners == 2


async def test_rollups_are_the_sums_of_the_facts(db: Database) -> None:
    await load_demo(db, SMALL)
    async with db.transaction() as s:
        facts = (
            await s.execute(
                text(
                    "SELECT workspace_id, event_date, provider, sum(spend_micros), "
                    "sum(impressions), sum(clicks), sum(conversions), sum(revenue_micros), "
                    "count(*) FROM metric_facts GROUP BY workspace_id, event_date, provider"
                )
            )
        ).all()
        rollups = (
            await s.execute(
                text(
                    "SELECT workspace_id, event_date, provider, spend_micros, impressions, "
                    "clicks, conversions, revenue_micros, fact_rows FROM daily_rollups"
                )
            )
        ).all()

    def norm(row: tuple) -> tuple:
        # Float sums may differ in the last bit with summation order.
        return tuple(round(v, 6) if isinstance(v, float) else str(v) for v in row)

    assert sorted(map(norm, facts)) == sorted(map(norm, rollups))


async def _campaign_roas(db: Database, workspace: str) -> dict[str, tuple[float, float]]:
    """ROAS per campaign name: (previous 7 days, last 7 days), leaves rolled up."""
    async with db.transaction() as s:
        entities = (
            await s.execute(
                text(
                    "SELECT e.id, e.level, e.name, e.parent_id FROM entities e "
                    "JOIN workspaces w ON w.id = e.workspace_id WHERE w.name = :w"
                ),
                {"w": workspace},
            )
        ).all()
        facts = (
            await s.execute(
                text(
                    "SELECT f.entity_id, f.event_date, f.spend_micros, f.revenue_micros "
                    "FROM metric_facts f JOIN workspaces w ON w.id = f.workspace_id "
                    "WHERE w.name = :w AND f.event_date > :start"
                ),
                {"w": workspace, "start": END - timedelta(days=14)},
            )
        ).all()
    by_id = {e.id: e for e in entities}

    def campaign_of(entity_id: int) -> str:
        node = by_id[entity_id]
        while node.level != "campaign":
            node = by_id[node.parent_id]
        return str(node.name)

    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for entity_id, day, spend, revenue in facts:
        # Raw SQL gives SQLite dates back as text.
        recent = date.fromisoformat(str(day)) > END - timedelta(days=7)
        acc = sums[campaign_of(entity_id)]
        acc[2 if recent else 0] += spend
        acc[3 if recent else 1] += revenue
    return {
        name: (rev_prev / spend_prev, rev_last / spend_last)
        for name, (spend_prev, rev_prev, spend_last, rev_last) in sums.items()
        if spend_prev and spend_last
    }


async def test_drop_and_star_campaigns_change_roas_in_the_last_7_days(db: Database) -> None:
    await load_demo(db, DemoOptions(workspaces=1, ads=60, days=35, seed=3, end_date=END))
    roas = await _campaign_roas(db, "Northwind Outdoor")
    prev, last = roas[DROP_CAMPAIGN_NAME]
    assert last < 0.7 * prev, (prev, last)
    prev, last = roas[STAR_CAMPAIGN_NAME]
    assert last > 1.3 * prev, (prev, last)


async def test_facts_live_only_on_leaves_and_pmax_is_a_leaf(sqlite_db: Database) -> None:
    await load_demo(sqlite_db, SMALL)
    async with sqlite_db.transaction() as s:
        parents_with_facts = await s.scalar(
            text(
                "SELECT count(*) FROM metric_facts f WHERE EXISTS "
                "(SELECT 1 FROM entities c WHERE c.parent_id = f.entity_id)"
            )
        )
        pmax = (
            await s.execute(
                text(
                    "SELECT e.id, (SELECT count(*) FROM metric_facts f WHERE f.entity_id = e.id) "
                    "FROM entities e WHERE e.name LIKE 'Performance Max%'"
                )
            )
        ).all()
        levels = dict(
            (await s.execute(text("SELECT level, count(*) FROM entities GROUP BY level"))).all()
        )
    assert parents_with_facts == 0
    assert pmax and all(count > 0 for _, count in pmax)
    assert set(levels) == {"account", "campaign", "adset", "ad"}


async def test_orders_follow_spend_and_carry_utms(sqlite_db: Database) -> None:
    await load_demo(sqlite_db, DemoOptions(workspaces=2, ads=40, days=60, seed=5, end_date=END))
    async with sqlite_db.transaction() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT w.name, w.timezone, w.currency, o.created_at_shop, o.order_date, "
                    "o.total_micros, o.utm_source, o.utm_content, o.fbclid, o.gclid, "
                    "o.checkout_token, o.customer_email_hash, o.cogs_micros "
                    "FROM shopify_orders o JOIN workspaces w ON w.id = o.workspace_id"
                )
            )
        ).all()
        platform = dict(
            (
                await s.execute(
                    text(
                        "SELECT w.name, sum(r.revenue_micros) FROM daily_rollups r "
                        "JOIN workspaces w ON w.id = r.workspace_id GROUP BY w.name"
                    )
                )
            ).all()
        )
    assert {(r.name, r.timezone, r.currency) for r in rows} == {
        ("Northwind Outdoor", "America/New_York", "USD"),
        ("Maison Lumière", "Europe/Paris", "EUR"),
    }
    for name, revenue in platform.items():
        shop = sum(r.total_micros for r in rows if r.name == name)
        assert 1.2 < shop / revenue < 2.1, (name, shop / revenue)
    paid = [r for r in rows if r.utm_source in ("facebook", "google", "tiktok")]
    assert 0.3 < len(paid) / len(rows) < 0.5
    assert all(r.fbclid for r in paid if r.utm_source == "facebook")
    assert all(r.gclid for r in paid if r.utm_source == "google")
    assert all(r.checkout_token and r.customer_email_hash and r.cogs_micros for r in rows)
    for r in rows[:500]:
        created = datetime.fromisoformat(str(r.created_at_shop))
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        local_day = created.astimezone(ZoneInfo(r.timezone)).date()
        assert str(local_day) == str(r.order_date)
