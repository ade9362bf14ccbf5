"""Authentication: users, passwords and sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.auth import repository
from metricx.auth.passwords import hash_password, verify_password
from metricx.auth.tokens import SESSION_PREFIX, new_token, token_hash, well_formed
from metricx.config import Settings
from metricx.errors import Conflict, NotAuthenticated, ValidationFailed
from metricx.models import AuthSession, User, utcnow

MIN_PASSWORD_LENGTH = 4


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively."""
    return email.strip().lower()


async def create_user(session: AsyncSession, email: str, password: str, name: str = "") -> User:
    """Create a user; 409 if the email is taken."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise ValidationFailed("Enter a valid email address.", fields=["email"])
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", fields=["password"]
        )
    if await repository.get_user_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists.", fields=["email"])
    user = User(email=email, name=name, password_hash=await hash_password(password))
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    """The user whose credentials these are; one vague error otherwise (no enumeration)."""
    user = await repository.get_user_by_email(session, normalise_email(email))
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise NotAuthenticated("Invalid email or password.")
    return user


async def start_session(
    session: AsyncSession, settings: Settings, user: User, user_agent: str = ""
) -> str:
    """Create a server-side session and return its signed token."""
    token = new_token(settings.secret, SESSION_PREFIX)
    session.add(
        AuthSession(
            id=token_hash(token),
            user_id=user.id,
            session_version=user.session_version,
            expires_at=utcnow() + timedelta(hours=settings.session_ttl_hours),
            user_agent=user_agent[:300],
        )
    )
    await session.flush()
    return token


async def user_for_token(session: AsyncSession, settings: Settings, token: str) -> User | None:
    """The user a presented session token belongs to, if it is valid and live."""
    if not well_formed(settings.secret, token, SESSION_PREFIX):
        return None
    found = await repository.get_live_session(session, token_hash(token), utcnow())
    return found[1] if found else None


async def end_session(session: AsyncSession, token: str) -> None:
    """Revoke the session behind a token."""
    await repository.revoke_session(session, token_hash(token), utcnow())


async def change_password(
    session: AsyncSession, user: User, current_password: str, new_password: str
) -> None:
    """Replace the password after verifying the current one; every existing session dies."""
    if not await verify_password(user.password_hash, current_password):
        raise ValidationFailed("The current password is wrong.", fields=["current_password"])
    await set_password(session, user, new_password)


async def set_password(session: AsyncSession, user: User, new_password: str) -> None:
    """Store a new password; every older session and every API token stops working.

    A password change is what a user does after a suspected compromise, so a token an
    attacker minted with the old password must die with it.
    """
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.",
            fields=["new_password"],
        )
    now = utcnow()
    user.password_hash = await hash_password(new_password)
    user.session_version = user.session_version + 1
    user.password_changed_at = now
    await repository.expire_reset_tokens(session, user.id, now)
    await repository.revoke_all_sessions(session, user.id, now)
    await repository.revoke_all_api_tokens(session, user.id, now)
    await session.flush()
