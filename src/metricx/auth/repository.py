"""SQL for users and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.models import AuthSession, User


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The user with this (lower-cased) email."""
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """The user by id."""
    return await session.get(User, user_id)


async def get_live_session(
    session: AsyncSession, session_id: str, now: datetime
) -> tuple[AuthSession, User] | None:
    """The unexpired, unrevoked session and its active user, in one query."""
    row = (
        await session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(
                AuthSession.id == session_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
                User.is_active.is_(True),
                AuthSession.session_version == User.session_version,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def revoke_session(session: AsyncSession, session_id: str, now: datetime) -> None:
    """Revoke one session."""
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
