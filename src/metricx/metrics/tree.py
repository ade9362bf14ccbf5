"""The entity tree as a small mapping: each entity to its ancestor at a level.

Facts are joined to this mapping (a few thousand entity rows, built once as a CTE and
hashed) rather than walking the tree per fact, so an entity breakdown costs one pass
over the facts in range.
Entity filters (ids, drill-down parent, status, name) are applied to the mapping, before
any fact is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from sqlalchemy import CTE, and_, case, func, null, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from metricx.metrics.schemas import Filters
from metricx.models import Entity
from metricx.tenancy import AuthContext, scoped

# Trees are at most account > campaign > adset > ad > creative: three parent hops reach
# every ancestor that a breakdown or filter can name.
HOPS = 3
LEVEL_DEPTH = {"account": 0, "campaign": 1, "adset": 2, "ad": 3, "creative": 4}


def name_like(col: Any, needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match with LIKE wildcards escaped."""
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(col).like(f"%{escaped}%", escape="\\")


def entity_conditions(node: Any, filters: Filters) -> list[ColumnElement[bool]]:
    """Status and name conditions on one entity."""
    conds: list[ColumnElement[bool]] = []
    if filters.status:
        conds.append(node.status.in_(filters.status))
    if filters.name_contains:
        conds.append(name_like(node.name, filters.name_contains))
    return conds


def mapping(
    ctx: AuthContext,
    filters: Filters,
    *,
    level: str | None = None,
    filter_level: str | None = None,
    only: Sequence[int] | None = None,
) -> CTE:
    """(entity_id[, target_id]) for the workspace's entities that pass the filters.

    target_id is the entity itself or its ancestor at `level` (so a campaign's own facts
    count for the campaign); entities without one are left out. Status and name filters
    apply to the ancestor at `filter_level`; `only` keeps entities whose target is listed.
    """
    hops = HOPS
    if level is not None and not (filters.entity_ids or filters.parent_id or filter_level):
        # Only the hops from the deepest level up to `level` can reach it (an ad is one
        # hop above a creative): fewer self-joins of the workspace's entities.
        hops = min(HOPS, LEVEL_DEPTH["creative"] - LEVEL_DEPTH.get(level, 0))
    nodes = [aliased(Entity, name=f"e{i}") for i in range(hops + 1)]
    cols: list[Any] = [nodes[0].id.label("entity_id")]
    target = None
    if level is not None:
        target = case(*((n.level == level, n.id) for n in nodes), else_=null())
        cols.append(target.label("target_id"))
    stmt = select(*cols).select_from(nodes[0])
    for child, parent in pairwise(nodes):
        # Parents share the workspace; saying so lets the planner use the workspace index.
        stmt = stmt.outerjoin(
            parent, and_(parent.id == child.parent_id, parent.workspace_id == ctx.workspace_id)
        )
    stmt = scoped(stmt, nodes[0], ctx)

    def within(ids: Sequence[int]) -> ColumnElement[bool]:
        return or_(*(n.id.in_(list(ids)) for n in nodes))

    if filters.entity_ids:
        stmt = stmt.where(within(filters.entity_ids))
    if filters.parent_id:
        stmt = stmt.where(within([filters.parent_id]))
    if filter_level and (filters.status or filters.name_contains):
        stmt = stmt.where(
            or_(*(and_(n.level == filter_level, *entity_conditions(n, filters)) for n in nodes))
        )
    if target is not None:
        stmt = stmt.where(target.is_not(None))
        if only is not None:
            stmt = stmt.where(target.in_(list(only)))
    # Materialised so PostgreSQL builds the small mapping once and hashes it, instead of
    # flattening it into the fact join and probing the tree per fact row.
    return stmt.cte("tree").prefix_with("MATERIALIZED", dialect="postgresql")
