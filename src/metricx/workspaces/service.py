"""Workspace logic: creation, listing, settings and deletion."""

from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.errors import ValidationFailed
from metricx.models import Membership, User, Workspace
from metricx.tenancy import AuthContext
from metricx.workspaces import repository

CURRENCY_CODES = frozenset(
    "USD EUR GBP JPY AUD CAD CHF CNY SEK NZD NOK DKK PLN CZK HUF BRL MXN INR KRW SGD HKD ZAR "
    "TRY AED SAR ILS THB MYR IDR PHP TWD CLP COP PEN ARS RON BGN ISK UAH VND EGP NGN KES".split()
)


def validate_timezone(value: str) -> str:
    """An IANA timezone name, or 422 naming the field."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"Unknown timezone {value!r}.", fields=["timezone"]) from exc
    return value


def validate_currency(value: str) -> str:
    """An ISO 4217 code we can format, or 422 naming the field."""
    code = value.strip().upper()
    if code not in CURRENCY_CODES:
        raise ValidationFailed(f"Unsupported currency {value!r}.", fields=["currency"])
    return code


def validate_name(value: str) -> str:
    """A workspace name of 1 to 200 visible characters, or 422 naming the field."""
    name = value.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("A workspace needs a name of 1 to 200 characters.", fields=["name"])
    return name


def new_pixel_key() -> str:
    """A public, unguessable key the pixel sends instead of a workspace id."""
    return "px_" + secrets.token_urlsafe(24)


async def create_workspace(
    session: AsyncSession,
    owner: User,
    *,
    name: str,
    timezone: str = "UTC",
    currency: str = "USD",
) -> Workspace:
    """Create a workspace with `owner` as its one owner."""
    workspace = Workspace(
        name=validate_name(name),
        timezone=validate_timezone(timezone),
        currency=validate_currency(currency),
        pixel_key=new_pixel_key(),
        data_version=1,
    )
    session.add(workspace)
    await session.flush()
    session.add(Membership(workspace_id=workspace.id, user_id=owner.id, role="owner"))
    await session.flush()
    return workspace


async def list_workspaces(session: AsyncSession, user: User) -> list[tuple[Workspace, str]]:
    """The signed-in user's workspaces with their role."""
    return await repository.list_for_user(session, user.id)


async def get_workspace(session: AsyncSession, ctx: AuthContext) -> Workspace:
    """The workspace of the context."""
    return await repository.get_workspace(session, ctx)


async def update_workspace(
    session: AsyncSession,
    ctx: AuthContext,
    *,
    name: str | None = None,
    timezone: str | None = None,
    currency: str | None = None,
) -> Workspace:
    """Change name, timezone or currency (admin+)."""
    ctx.require("admin")
    workspace = await repository.get_workspace(session, ctx)
    if name is not None:
        workspace.name = validate_name(name)
    changes_view = False
    if timezone is not None and timezone != workspace.timezone:
        workspace.timezone = validate_timezone(timezone)
        changes_view = True
    if currency is not None and validate_currency(currency) != workspace.currency:
        workspace.currency = validate_currency(currency)
        changes_view = True
    await session.flush()
    if changes_view:
        # Days and money are shown in these settings, so cached answers are stale now.
        await repository.bump_data_version(session, ctx.workspace_id)
        await session.refresh(workspace)
    return workspace


async def delete_workspace(session: AsyncSession, ctx: AuthContext) -> None:
    """Delete the workspace and everything in it (owner only)."""
    ctx.require("owner")
    await repository.delete_workspace(session, ctx)
