"""Tenancy: the AuthContext resolved once at the edge, and the one place that scopes queries.

Every workspace-scoped query goes through `scoped()`; a resource outside the caller's
workspace is simply not found (404), never forbidden and never returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar

from sqlalchemy import Select

from metricx.errors import Forbidden

Role = Literal["owner", "admin", "viewer"]
ROLE_RANK: dict[str, int] = {"viewer": 0, "admin": 1, "owner": 2}

S = TypeVar("S", bound=Select)  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class AuthContext:
    """Who is asking, in which workspace, with what role."""

    user_id: int
    workspace_id: int
    role: Role
    timezone: str = "UTC"
    currency: str = "USD"
    data_version: int = 1
    # The workspace's attribution settings, carried from the row the edge already loaded;
    # None where a context was built without it (readers then look the row up).
    attribution_model: str | None = None
    attribution_window_days: int | None = None
    # The last day of the windows held in entity_summaries; None: read the facts.
    summary_end: date | None = None

    def require(self, role: Role) -> None:
        """Raise 403 unless the caller has at least `role` in this workspace."""
        if ROLE_RANK[self.role] < ROLE_RANK[role]:
            raise Forbidden(f"This action needs the {role} role in this workspace.")

    @property
    def can_write(self) -> bool:
        """Admins and owners change settings, connections and data."""
        return ROLE_RANK[self.role] >= ROLE_RANK["admin"]


def workspace_context_for(user_id: int, workspace: Any, role: str) -> AuthContext:
    """The AuthContext of a member, from the workspace row the edge has loaded."""
    return AuthContext(
        user_id=user_id,
        workspace_id=workspace.id,
        role=role,  # type: ignore[arg-type]
        timezone=workspace.timezone,
        currency=workspace.currency,
        data_version=workspace.data_version,
        attribution_model=workspace.attribution_model,
        attribution_window_days=workspace.attribution_window_days,
        summary_end=workspace.summary_end,
    )


def scoped(stmt: S, model: Any, ctx: AuthContext) -> S:
    """Filter a select to the caller's workspace: the one tenant filter of the code base."""
    return stmt.where(model.workspace_id == ctx.workspace_id)


def unscoped_across_all_workspaces(stmt: S) -> S:
    """Mark a query that deliberately reads every tenant (scheduler, admin CLI only)."""
    return stmt
