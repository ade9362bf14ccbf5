"""Workspace logic: creation and settings (members and invites build on this)."""

from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.errors import ValidationFailed
from metricx.models import Membership, User, Workspace

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
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("A workspace needs a name of 1 to 200 characters.", fields=["name"])
    workspace = Workspace(
        name=name,
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
