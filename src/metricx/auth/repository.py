"""SQL for users and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from metricx.models import ApiToken, AuthSession, Membership, PasswordResetToken, User, Workspace


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


async def get_api_token(
    session: AsyncSession, hashed: str, now: datetime
) -> tuple[ApiToken, User] | None:
    """The live API token with this hash and its active user."""
    row = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(
                ApiToken.token_hash == hashed,
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
                User.is_active.is_(True),
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def list_api_tokens(session: AsyncSession, user_id: int) -> list[ApiToken]:
    """A user's unrevoked API tokens, newest first."""
    result = await session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id.desc())
    )
    return list(result)


async def revoke_api_token(
    session: AsyncSession, user_id: int, token_id: int, now: datetime
) -> bool:
    """Revoke one of the user's tokens; False when it is not theirs or already revoked."""
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_all_api_tokens(session: AsyncSession, user_id: int, now: datetime) -> None:
    """Revoke every live API token of a user (after a password change or reset)."""
    await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_all_sessions(session: AsyncSession, user_id: int, now: datetime) -> None:
    """Revoke every live session of a user."""
    await session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def touch_api_token(session: AsyncSession, token_id: int, now: datetime) -> None:
    """Record that a token was used."""
    await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


async def consume_reset_token(session: AsyncSession, hashed: str, now: datetime) -> int | None:
    """Mark a live reset token used and return its user id; None if unknown, used or expired.

    The conditional UPDATE makes the token single-use even under concurrent requests.
    """
    token = await session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == hashed)
    )
    if token is None or token.used_at is not None or token.expires_at <= now:
        return None
    result = await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == token.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    return token.user_id if result.rowcount else None  # type: ignore[attr-defined]


async def expire_reset_tokens(session: AsyncSession, user_id: int, now: datetime) -> None:
    """Use up every outstanding reset token of a user (after any password change)."""
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )


def _principal_statement(credential: type[AuthSession] | type[ApiToken]) -> Select[Any]:
    """Credential, user, role and workspace settings for one workspace, in one statement.

    Outer joins keep the credential row when the user is not a member, so the caller can
    tell "not signed in" (401) from "not your workspace" (404) without a second query.
    """
    if credential is AuthSession:
        live = [
            AuthSession.id == bindparam("credential"),
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > bindparam("now"),
            AuthSession.session_version == User.session_version,
        ]
        touched = literal_column("NULL")
        expires = AuthSession.expires_at
    else:
        live = [
            ApiToken.token_hash == bindparam("credential"),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now")),
        ]
        touched = ApiToken.last_used_at
        expires = ApiToken.expires_at
    return (
        select(
            User.id.label("user_id"),
            Membership.role,
            # Named as the Workspace's own attributes: the row stands in for it.
            Workspace.id.label("id"),
            Workspace.timezone,
            Workspace.currency,
            Workspace.data_version,
            Workspace.attribution_model,
            Workspace.attribution_window_days,
            Workspace.summary_end,
            credential.id.label("credential_id"),
            touched.label("last_used_at"),
            expires.label("expires_at"),
        )
        .select_from(credential)
        .join(User, User.id == credential.user_id)
        .outerjoin(
            Membership,
            and_(Membership.user_id == User.id, Membership.workspace_id == bindparam("ws")),
        )
        .outerjoin(Workspace, Workspace.id == Membership.workspace_id)
        .where(*live, User.is_active.is_(True))
    )


# Built once: the edge runs one of these on every workspace-scoped request.
_SESSION_PRINCIPAL = _principal_statement(AuthSession)
_API_TOKEN_PRINCIPAL = _principal_statement(ApiToken)


async def workspace_principal(
    conn: AsyncConnection, *, api_token: bool, hashed: str, workspace_id: int, now: datetime
) -> Row[Any] | None:
    """A live credential's user_id, role, credential_id, last_used_at and expires_at, with
    the workspace's columns under their own names (id, timezone, ... summary_end); or None.

    Role and the workspace columns are None when the user is not a member.
    """
    stmt = _API_TOKEN_PRINCIPAL if api_token else _SESSION_PRINCIPAL
    result = await conn.execute(stmt, {"credential": hashed, "now": now, "ws": workspace_id})
    return result.first()
