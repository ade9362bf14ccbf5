"""Per-entity sums over the preset windows, kept in step with metric_facts.

The dashboard's top creatives and unit economics rank every ad or campaign of a
workspace over last_7_days or last_30_days. Summing the facts for that is a pass over
up to 2,500 ads x 30 days; reading `entity_summaries` is a pass over 2,500 rows.

Which windows are held: the current and previous periods of each preset, all ending on
`workspaces.summary_end`. A reader uses the summary only when the timeframe it resolved
is one of those windows (so a day rollover, a changed timezone or a summary that was
never built simply falls back to the facts, which are always right). Writers rewrite the
windows a fact write touches in the same transaction; `refresh_stale` rebuilds the
windows of workspaces whose day has rolled over (the scheduler calls it every tick).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Date, and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.metrics import tree
from metricx.metrics.schemas import Filters
from metricx.metrics.timeframes import Clock, Timeframe, resolve, system_clock
from metricx.models import EntitySummary, MetricFact, Workspace
from metricx.tenancy import AuthContext, unscoped_across_all_workspaces

SUMMARY_PRESETS = ("last_7_days", "last_30_days")
FACT_GRAIN = "fact"
LEVELS = ("ad", "adset", "campaign")
MEASURES = ("spend_micros", "impressions", "clicks", "conversions", "revenue_micros")
Window = tuple[date, date]


def preset_windows(tz: str, clock: Clock = system_clock) -> tuple[date, list[Window]]:
    """The windows' common end (yesterday in `tz`) and every (start, end) to hold."""
    windows: list[Window] = []
    end = None
    for key in SUMMARY_PRESETS:
        tf = resolve(key, tz=tz, clock=clock)
        end = tf.end
        windows += [(tf.start, tf.end), (tf.previous_start, tf.previous_end)]
    assert end is not None
    return end, windows


def usable(ctx: AuthContext, tf: Timeframe) -> bool:
    """True when the summary holds exactly this timeframe and its previous period."""
    return tf.key in SUMMARY_PRESETS and ctx.summary_end is not None and tf.end == ctx.summary_end


def window_condition(tf: Timeframe, compare: bool, grain: str) -> Any:
    """The summary rows of one grain in the timeframe (and its previous period)."""
    current = and_(
        EntitySummary.grain == grain,
        EntitySummary.start_date == tf.start,
        EntitySummary.end_date == tf.end,
    )
    if not compare:
        return current
    previous = and_(
        EntitySummary.grain == grain,
        EntitySummary.start_date == tf.previous_start,
        EntitySummary.end_date == tf.previous_end,
    )
    return or_(current, previous)


async def _rebuild(
    session: AsyncSession,
    workspace_id: int,
    windows: Sequence[Window],
    provider: str | None,
    *,
    whole: bool = False,
) -> None:
    """Recompute the given windows of one workspace (one provider, or all).

    `whole` first drops every row of the workspace, windows of a former end included.
    Each window costs one pass over its facts (to the 'fact' grain) and three small
    roll-ups of those rows through the entity tree.
    """
    if not windows:
        return
    drop = delete(EntitySummary).where(EntitySummary.workspace_id == workspace_id)
    if not whole:
        drop = drop.where(
            or_(*(and_(EntitySummary.start_date == s, EntitySummary.end_date == e)
                  for s, e in windows))
        )  # fmt: skip
    if provider is not None:
        drop = drop.where(EntitySummary.provider == provider)
    await session.execute(drop)
    ctx = AuthContext(user_id=0, workspace_id=workspace_id, role="viewer")
    columns = ["workspace_id", "start_date", "end_date", "grain", "entity_id", "provider"]
    for start, end in windows:
        facts = select(
            MetricFact.workspace_id,
            literal(start, Date),
            literal(end, Date),
            literal(FACT_GRAIN),
            MetricFact.entity_id,
            MetricFact.provider,
            *(func.coalesce(func.sum(getattr(MetricFact, m)), 0) for m in MEASURES),
        ).where(
            MetricFact.workspace_id == workspace_id,
            MetricFact.event_date.between(start, end),
        )
        if provider is not None:
            facts = facts.where(MetricFact.provider == provider)
        facts = facts.group_by(MetricFact.workspace_id, MetricFact.entity_id, MetricFact.provider)
        await session.execute(insert(EntitySummary).from_select([*columns, *MEASURES], facts))
        leaf = and_(
            EntitySummary.workspace_id == workspace_id,
            EntitySummary.start_date == start,
            EntitySummary.end_date == end,
            EntitySummary.grain == FACT_GRAIN,
        )
        if provider is not None:
            leaf = and_(leaf, EntitySummary.provider == provider)
        for level in LEVELS:
            tree_map = tree.mapping(ctx, Filters(), level=level)
            rolled = (
                select(
                    EntitySummary.workspace_id,
                    EntitySummary.start_date,
                    EntitySummary.end_date,
                    literal(level),
                    tree_map.c.target_id,
                    EntitySummary.provider,
                    *(func.sum(getattr(EntitySummary, m)) for m in MEASURES),
                )
                .join(tree_map, tree_map.c.entity_id == EntitySummary.entity_id)
                .where(leaf)
                .group_by(
                    EntitySummary.workspace_id,
                    EntitySummary.start_date,
                    EntitySummary.end_date,
                    tree_map.c.target_id,
                    EntitySummary.provider,
                )
            )
            await session.execute(insert(EntitySummary).from_select([*columns, *MEASURES], rolled))


async def invalidate(session: AsyncSession, workspace_id: int) -> None:
    """Forget the held windows (the tree changed); readers use the facts until a rebuild."""
    await session.execute(
        update(Workspace).where(Workspace.id == workspace_id).values(summary_end=None)
    )


async def refresh(
    session: AsyncSession,
    workspace_id: int,
    *,
    provider: str | None = None,
    touched: Window | None = None,
    whole: bool = False,
    clock: Clock = system_clock,
) -> bool:
    """Bring one workspace's summary in step with its facts; True when rows were rewritten.

    With `touched` (the day range a fact write changed) only the windows overlapping it
    are recomputed, for that provider; a summary whose windows have rolled over (or any,
    with `whole`) is rebuilt whole. The workspace row is locked first, so concurrent
    refreshes take turns.
    """
    row = (
        await session.execute(
            select(Workspace.timezone, Workspace.summary_end)
            .where(Workspace.id == workspace_id)
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        return False
    end, windows = preset_windows(row.timezone, clock)
    if whole or row.summary_end != end:
        await _rebuild(session, workspace_id, windows, None, whole=True)
        await session.execute(
            update(Workspace).where(Workspace.id == workspace_id).values(summary_end=end)
        )
        return True
    if touched is not None:
        lo, hi = touched
        hit = [(s, e) for s, e in windows if s <= hi and e >= lo]
        await _rebuild(session, workspace_id, hit, provider)
        return bool(hit)
    return False


async def stale_workspace_ids(
    session: AsyncSession, clock: Clock = system_clock, *, every: bool = False
) -> list[int]:
    """Workspaces whose held windows no longer end on their yesterday (or all of them)."""
    stmt = unscoped_across_all_workspaces(
        select(Workspace.id, Workspace.timezone, Workspace.summary_end).order_by(Workspace.id)
    )
    rows = (await session.execute(stmt)).all()
    return [r.id for r in rows if every or r.summary_end != preset_windows(r.timezone, clock)[0]]
