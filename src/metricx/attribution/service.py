"""Attribution runs: build journeys, match orders, apply the models, store credits.

`run_attribution(session, workspace_id, model=None, window=None)` is the job entry point
(`attribute_orders`). It is idempotent: inside one transaction, a per-workspace advisory
lock (PostgreSQL) keeps runs of one workspace from interleaving, then the attributions of
the orders it computes are deleted and re-inserted. A crash rolls back to the previous
complete set; a re-run gives the same rows, never duplicates.

Runs are incremental: only the orders whose inputs changed since the previous run are
recomputed (a shop with 11,000 orders rewrote 55,000 rows per webhook burst, which was
the soak's heaviest load). A full run happens on the first run, for a new window or
half-life, and at least daily; `full=True` forces one.

With no model given every model is computed (so switching models in the UI needs no
recompute); with no window given, the workspace's window.

Matching order -> journey: checkout_token (pixel checkout events), then the visitor id the
storefront put in note attributes, then the customer's email hash (a journey learns an
email hash from the first order matched to it by token or visitor). An order with no
journey falls back to its own landing site (UTMs / click ids Shopify recorded), if any.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metricx import jobs
from metricx.attribution import engine, journeys
from metricx.attribution.engine import Touch
from metricx.attribution.reads import dashboard_attribution_block
from metricx.deps import after_commit
from metricx.models import Attribution, Journey, PixelEvent, ShopifyOrder, Touchpoint, Workspace
from metricx.models.base import utcnow
from metricx.tenancy import AuthContext
from metricx.workspaces.repository import bump_data_version

__all__ = ["dashboard_attribution_block", "run_attribution", "update_settings"]

log = structlog.get_logger("metricx.attribution")

# Events arriving while a run is in flight are picked up by the next run's overlap.
REBUILD_OVERLAP = timedelta(minutes=15)
FULL_RUN_EVERY = timedelta(hours=24)
LANDING_TOUCH_ID = -1
LOCK_NAMESPACE = 0x6D78 << 40  # "mx": keeps these advisory locks apart from others


async def run_attribution(
    session: AsyncSession,
    workspace_id: int,
    model: str | None = None,
    window: int | None = None,
    *,
    full: bool = False,
) -> dict[str, int]:
    """Attribute the workspace's orders whose inputs changed since the last run (or all of
    them: `full`, a first run, a new window or model, or a day since the last full run).

    Flushes, never commits. An incremental run gives the rows a full run would give: the
    orders it leaves alone are those whose own fields, journey, checkout events and email
    matches have not changed since the previous run (see `_affected_orders`).
    """
    if journeys.dialect_of(session) == "postgresql":
        # An advisory lock, not FOR UPDATE on the workspace row: webhooks bump that row's
        # data_version and must not wait behind a long run (Shopify gives them 5 s).
        await session.execute(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE + workspace_id)))
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        return {"orders": 0, "touches": 0, "rows": 0}
    models = [model] if model else list(engine.MODELS)
    windows = [window or workspace.attribution_window_days]
    last_run = await session.scalar(
        select(func.max(Attribution.computed_at)).where(Attribution.workspace_id == workspace_id)
    )
    since = journeys.as_utc(last_run) - REBUILD_OVERLAP if last_run else None
    now = utcnow()
    if since is None or not await _incremental_ok(session, workspace_id, models, windows, now):
        full = True
    touches_added = await journeys.build_journeys(session, workspace_id, since)
    live = ShopifyOrder.workspace_id == workspace_id, ShopifyOrder.is_test.is_(False)
    if full:
        orders = list((await session.execute(select(ShopifyOrder).where(*live))).scalars())
    else:
        assert since is not None
        orders = await _affected_orders(session, workspace_id, since)
    matched, learned = await match_orders(session, workspace_id, orders)
    if not full:
        # An email a journey learned just now can match other, unchanged orders to it.
        seen = {o.id for o in orders}
        for chunk in journeys._chunks(sorted(learned)):
            more = await session.execute(
                select(ShopifyOrder).where(*live, ShopifyOrder.customer_email_hash.in_(chunk))
            )
            extra = [o for o in more.scalars() if o.id not in seen]
            seen.update(o.id for o in extra)
            if extra:
                extra_matched, _ = await match_orders(session, workspace_id, extra)
                matched.update(extra_matched)
                orders.extend(extra)
    touches = await load_touches(session, {j for j, _ in matched.values()})
    unmatched = [o for o in orders if o.id not in matched]
    fallback = await landing_touches(session, workspace_id, unmatched)
    stale = delete(Attribution).where(
        Attribution.workspace_id == workspace_id,
        Attribution.model.in_(models),
        Attribution.window_days.in_(windows),
    )
    if full:
        await session.execute(stale)
    else:
        assert since is not None
        # Orders turned into test orders since lose their credits, as in a full run.
        tests = await session.scalars(
            select(ShopifyOrder.id).where(
                ShopifyOrder.workspace_id == workspace_id,
                ShopifyOrder.is_test.is_(True),
                ShopifyOrder.updated_at >= since,
            )
        )
        for chunk in journeys._chunks(sorted({o.id for o in orders} | set(tests.all()))):
            await session.execute(stale.where(Attribution.order_id.in_(chunk)))
    rows: list[dict[str, Any]] = []
    for order in orders:
        journey_id, how = matched.get(order.id, (None, "none"))
        order_touches = touches.get(journey_id, []) if journey_id else fallback.get(order.id, [])
        if journey_id is None and order_touches:
            how = "landing_site"
        net = engine.net_revenue(order.total_micros, order.refunded_micros)
        for m in models:
            for w in windows:
                credits = engine.attribute(
                    order_touches,
                    order_at=order.created_at_shop,
                    net_micros=net,
                    model=m,
                    window_days=w,
                    half_life_days=workspace.time_decay_half_life_days,
                )
                rows.extend(_rows(workspace_id, order, m, w, credits, how, now))
    for start in range(0, len(rows), 500):
        await session.execute(insert(Attribution), rows[start : start + 500])
    if rows or full:
        await bump_data_version(session, workspace_id)
    log.info(
        "attribution.run",
        workspace=workspace_id,
        full=full,
        orders=len(orders),
        matched=len(matched),
        touches_added=touches_added,
        rows=len(rows),
    )
    return {"orders": len(orders), "touches": touches_added, "rows": len(rows)}


async def _incremental_ok(
    session: AsyncSession, workspace_id: int, models: list[str], windows: list[int], now: datetime
) -> bool:
    """True when every (model, window) to compute has rows, the oldest under a day old.

    A window or model never computed needs every order. So does the passing of time for
    what an incremental run cannot see change: a new ad that an unmatched order's landing
    site now resolves to, for one. Every full run rewrites all rows, so the oldest
    computed_at is the time of the last one.
    """
    found = (
        await session.execute(
            select(Attribution.model, Attribution.window_days, func.min(Attribution.computed_at))
            .where(
                Attribution.workspace_id == workspace_id,
                Attribution.model.in_(models),
                Attribution.window_days.in_(windows),
            )
            .group_by(Attribution.model, Attribution.window_days)
        )
    ).all()
    oldest = {(m, w): journeys.as_utc(at) for m, w, at in found}
    for m in models:
        for w in windows:
            at = oldest.get((m, w))
            if at is None or now - at > FULL_RUN_EVERY:
                return False
    return True


async def _affected_orders(
    session: AsyncSession, workspace_id: int, since: datetime
) -> list[ShopifyOrder]:
    """Orders whose attribution may differ from the last run's.

    An order's credits depend on its own fields, the journey it matches (through its
    checkout token's events, its visitor id, or its email hash: the latest journey with
    that hash) and that journey's touches. Since `since`: orders written; orders of
    visitors with new events, or whose checkout token is among those visitors' events; and
    orders whose email hash is a hash of one of those visitors' journeys.
    """
    recent = (
        await session.execute(
            select(PixelEvent.visitor_id, PixelEvent.checkout_token).where(
                PixelEvent.workspace_id == workspace_id, PixelEvent.received_at >= since
            )
        )
    ).all()
    visitors = sorted({v for v, _ in recent})
    tokens = {t for _, t in recent if t}
    emails: set[str] = set()
    for chunk in journeys._chunks(visitors):
        tokens.update(
            (
                await session.scalars(
                    select(PixelEvent.checkout_token)
                    .distinct()
                    .where(
                        PixelEvent.workspace_id == workspace_id,
                        PixelEvent.visitor_id.in_(chunk),
                        PixelEvent.checkout_token.is_not(None),
                    )
                )
            ).all()
        )
        emails.update(
            (
                await session.scalars(
                    select(Journey.email_hash).where(
                        Journey.workspace_id == workspace_id,
                        Journey.visitor_id.in_(chunk),
                        Journey.email_hash.is_not(None),
                    )
                )
            ).all()
        )
    live = ShopifyOrder.workspace_id == workspace_id, ShopifyOrder.is_test.is_(False)
    found: dict[int, ShopifyOrder] = {}

    async def add(*where: Any) -> None:
        for order in (await session.execute(select(ShopifyOrder).where(*live, *where))).scalars():
            found[order.id] = order

    await add(ShopifyOrder.updated_at >= since)
    for chunk in journeys._chunks(visitors):
        await add(ShopifyOrder.visitor_id.in_(chunk))
    for chunk in journeys._chunks(sorted(tokens)):
        await add(ShopifyOrder.checkout_token.in_(chunk))
    for chunk in journeys._chunks(sorted(emails)):
        await add(ShopifyOrder.customer_email_hash.in_(chunk))
    return sorted(found.values(), key=lambda o: o.id)


def _rows(
    workspace_id: int,
    order: ShopifyOrder,
    model: str,
    window: int,
    credits: Sequence[engine.Credit],
    how: str,
    now: datetime,
) -> list[dict[str, Any]]:
    out = []
    for position, c in enumerate(credits):
        t = c.touch
        out.append(
            {
                "workspace_id": workspace_id,
                "order_id": order.id,
                "model": model,
                "window_days": window,
                "position": position,
                "touchpoint_id": t.id if t is not None and t.id > 0 else None,
                "channel": t.channel if t is not None else "unattributed",
                "entity_id": t.entity_id if t is not None else None,
                "confidence": t.confidence if t is not None else "none",
                "match_type": f"{how}:{t.match_type}"[:32] if t is not None else "none",
                "credit": c.credit,
                "revenue_micros": c.revenue_micros,
                "order_created_at": order.created_at_shop,
                "computed_at": now,
            }
        )
    return out


async def match_orders(
    session: AsyncSession, workspace_id: int, orders: Sequence[ShopifyOrder]
) -> tuple[dict[int, tuple[int, str]], set[str]]:
    """({order id: (journey id, how)}, email hashes journeys learned now).

    Matching tries the checkout token, then the visitor id, then the email hash.
    """
    tokens = sorted({o.checkout_token for o in orders if o.checkout_token is not None})
    token_visitor: dict[str, str] = {}
    for chunk in journeys._chunks(tokens):
        token_rows = await session.execute(
            select(PixelEvent.checkout_token, PixelEvent.visitor_id)
            .where(PixelEvent.workspace_id == workspace_id, PixelEvent.checkout_token.in_(chunk))
            .order_by(PixelEvent.occurred_at)
        )
        for token, token_owner in token_rows.all():
            token_visitor.setdefault(str(token), token_owner)
    visitors = set(token_visitor.values()) | {o.visitor_id for o in orders if o.visitor_id}
    by_visitor: dict[str, int] = {}
    for chunk in journeys._chunks(sorted(visitors)):
        journey_rows = await session.execute(
            select(Journey.visitor_id, Journey.id).where(
                Journey.workspace_id == workspace_id, Journey.visitor_id.in_(chunk)
            )
        )
        by_visitor.update({v: j for v, j in journey_rows.all()})
    matched: dict[int, tuple[int, str]] = {}
    learned: dict[int, str] = {}
    for o in orders:
        visitor: str | None = token_visitor.get(o.checkout_token or "")
        if visitor and visitor in by_visitor:
            matched[o.id] = (by_visitor[visitor], "checkout_token")
        elif o.visitor_id and o.visitor_id in by_visitor:
            matched[o.id] = (by_visitor[o.visitor_id], "visitor_id")
        if o.id in matched and o.customer_email_hash:
            learned.setdefault(matched[o.id][0], o.customer_email_hash)
    newly_learned: set[str] = set()
    for journey_id, digest in learned.items():
        result = await session.execute(
            update(Journey)
            .where(Journey.id == journey_id, Journey.email_hash.is_(None))
            .values(email_hash=digest)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            newly_learned.add(digest)
    hashes = sorted(
        {o.customer_email_hash for o in orders if o.id not in matched and o.customer_email_hash}
    )
    by_email: dict[str | None, int] = {}
    for chunk in journeys._chunks(hashes):
        email_rows = await session.execute(
            select(Journey.email_hash, Journey.id)
            .where(Journey.workspace_id == workspace_id, Journey.email_hash.in_(chunk))
            .order_by(Journey.last_seen_at)
        )
        by_email.update({h: j for h, j in email_rows.all()})  # the latest journey of an email wins
    for o in orders:
        if o.id not in matched and o.customer_email_hash in by_email:
            matched[o.id] = (by_email[o.customer_email_hash], "email")
    return matched, newly_learned


async def load_touches(session: AsyncSession, journey_ids: set[int]) -> dict[int, list[Touch]]:
    """Touches of the given journeys, grouped by journey."""
    out: dict[int, list[Touch]] = {}
    for chunk in journeys._chunks(sorted(journey_ids)):
        rows = await session.execute(
            select(
                Touchpoint.journey_id,
                Touchpoint.id,
                Touchpoint.occurred_at,
                Touchpoint.channel,
                Touchpoint.confidence,
                Touchpoint.entity_id,
                Touchpoint.match_type,
            ).where(Touchpoint.journey_id.in_(chunk))
        )
        for journey_id, tid, at, channel, confidence, entity_id, how in rows.all():
            out.setdefault(journey_id, []).append(
                Touch(tid, at, channel, confidence, entity_id, how)
            )
    return out


async def landing_touches(
    session: AsyncSession, workspace_id: int, orders: Sequence[ShopifyOrder]
) -> dict[int, list[Touch]]:
    """A synthetic touch at order time from the order's own landing site and referrer."""
    sources: dict[int, journeys.Source] = {}
    for o in orders:
        utm = {
            k: v
            for k in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
            if (v := getattr(o, k))
        }
        clicks = {k: v for k in ("fbclid", "gclid", "ttclid") if (v := getattr(o, k))}
        ids = journeys.channels.parse_landing(o.landing_site).ids
        if utm or clicks or ids or o.referring_site:
            sources[o.id] = journeys.Source(utm, clicks, ids, o.referring_site, "")
    values = {v for s in sources.values() for v in journeys.candidate_ids(s)}
    entities = await journeys.entity_index(session, workspace_id, values) if values else {}
    out: dict[int, list[Touch]] = {}
    by_id = {o.id: o for o in orders}
    for order_id, src in sources.items():
        found = journeys.resolve(src, entities)
        if found.channel == "direct":
            continue
        out[order_id] = [
            Touch(
                LANDING_TOUCH_ID,
                by_id[order_id].created_at_shop,
                found.channel,
                found.confidence,
                found.entity_id,
                found.match_type,
            )
        ]
    return out


def schedule_attribution(session: AsyncSession, workspace_id: int) -> None:
    """Queue attribute_orders for the workspace once this session's transaction commits.

    After the commit, so the job sees the orders or settings just written. The job id
    makes it one queued run per workspace however many webhooks arrive; metricx.jobs'
    enqueue never raises (a queue outage is logged and the request still succeeds).
    """

    async def _go() -> None:
        await jobs.enqueue("attribute_orders", workspace_id=workspace_id)

    after_commit(session, _go)


async def update_settings(
    session: AsyncSession,
    ctx: AuthContext,
    *,
    model: str | None = None,
    window_days: int | None = None,
    half_life_days: float | None = None,
) -> dict[str, Any]:
    """Change the workspace's attribution settings and recompute.

    The recompute is an `attribute_orders` job queued after commit: it deletes and
    re-inserts each (model, window) in one transaction, so nothing is lost or duplicated.
    """
    values: dict[str, Any] = {}
    if model is not None:
        values["attribution_model"] = model
    if window_days is not None:
        values["attribution_window_days"] = window_days
    if half_life_days is not None:
        values["time_decay_half_life_days"] = half_life_days
    if values:
        await session.execute(
            update(Workspace).where(Workspace.id == ctx.workspace_id).values(**values)
        )
        if half_life_days is not None:
            # Every time-decay credit depends on the half-life: without rows, the next run
            # is a full one (_incremental_ok).
            await session.execute(
                delete(Attribution).where(
                    Attribution.workspace_id == ctx.workspace_id,
                    Attribution.model == "time_decay",
                )
            )
        await bump_data_version(session, ctx.workspace_id)
    ws = (
        await session.execute(select(Workspace).where(Workspace.id == ctx.workspace_id))
    ).scalar_one()
    await session.refresh(ws)
    recompute = "unchanged"
    if values:
        schedule_attribution(session, ctx.workspace_id)
        recompute = "queued"
    return {
        "model": ws.attribution_model,
        "window_days": ws.attribution_window_days,
        "time_decay_half_life_days": ws.time_decay_half_life_days,
        "recompute": recompute,
    }
