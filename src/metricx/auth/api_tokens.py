"""Personal API tokens for scripts: shown once, stored as a hash, revocable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.auth import repository
from metricx.auth.tokens import (
    API_TOKEN_PREFIX,
    new_token,
    token_hash,
    well_formed,
)
from metricx.config import Settings
from metricx.errors import NotFound, ValidationFailed
from metricx.models import ApiToken, User, utcnow

MAX_TOKENS_PER_USER = 50
# Recording every use would turn each API read into a write; once a minute is plenty.
TOUCH_INTERVAL = timedelta(minutes=1)


async def create_api_token(
    session: AsyncSession, settings: Settings, user: User, name: str, expires_in_days: int | None
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never shown again."""
    name = name.strip()
    if not name:
        raise ValidationFailed("Give the token a name.", fields=["name"])
    if len(await repository.list_api_tokens(session, user.id)) >= MAX_TOKENS_PER_USER:
        raise ValidationFailed(
            f"You already have {MAX_TOKENS_PER_USER} tokens; revoke one first.", fields=["name"]
        )
    secret = new_token(settings.secret, API_TOKEN_PREFIX)
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_hash(secret),
        prefix=secret[:12],
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def list_api_tokens(session: AsyncSession, user: User) -> list[ApiToken]:
    """The user's live tokens (without secrets)."""
    return await repository.list_api_tokens(session, user.id)


async def revoke_api_token(session: AsyncSession, user: User, token_id: int) -> None:
    """Revoke one of the user's tokens; another user's token is simply not found."""
    if not await repository.revoke_api_token(session, user.id, token_id, utcnow()):
        raise NotFound("API token not found.")


async def user_for_api_token(session: AsyncSession, settings: Settings, secret: str) -> User | None:
    """The user behind a presented API token, if it is valid, live and unrevoked."""
    if not well_formed(settings.secret, secret, API_TOKEN_PREFIX):
        return None
    now = utcnow()
    found = await repository.get_api_token(session, token_hash(secret), now)
    if found is None:
        return None
    token, user = found
    if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
        await repository.touch_api_token(session, token.id, now)
    return user
