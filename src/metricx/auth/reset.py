"""Password reset: single-use, expiring tokens, and no answer that reveals an account."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.auth import repository
from metricx.auth.service import normalise_email, set_password
from metricx.auth.tokens import new_token, token_hash, verify_signature
from metricx.config import Settings
from metricx.errors import ValidationFailed
from metricx.models import PasswordResetToken, utcnow

log = structlog.get_logger("metricx.auth")

RESET_PREFIX = "mxr_"
RESET_TTL = timedelta(hours=1)
RESET_PATH = "/reset-password"


async def request_reset(session: AsyncSession, settings: Settings, email: str) -> str | None:
    """Create a reset token for an active account; None (and no trace) for unknown emails."""
    user = await repository.get_user_by_email(session, normalise_email(email))
    if user is None or not user.is_active:
        return None
    secret = new_token(settings.secret, RESET_PREFIX)
    session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=token_hash(secret), expires_at=utcnow() + RESET_TTL
        )
    )
    await session.flush()
    return secret


def deliver_reset_link(settings: Settings, base_url: str, secret: str) -> None:
    """Hand the link to the user; there is no mailer yet, so development logs it.

    Production never logs the token: the link would be a password in the log store.
    A mailer must build the link from a configured public URL, never from the request's
    Host header, or an attacker could have reset links sent pointing at their own site.
    """
    if settings.env == "production":
        log.info("auth.password_reset_requested")
        return
    link = f"{base_url.rstrip('/')}{RESET_PATH}?t={secret}"
    # A warning so it shows at every log level: it is the only way the link reaches anyone.
    log.warning("auth.password_reset_link", link=link, reason="no mail delivery configured")


async def confirm_reset(
    session: AsyncSession, settings: Settings, secret: str, new_password: str
) -> None:
    """Set a new password with a live reset token; the token (and its siblings) are used up."""
    invalid = ValidationFailed("This reset link is invalid or has expired.", fields=["token"])
    if not secret.startswith(RESET_PREFIX) or verify_signature(settings.secret, secret) is None:
        raise invalid
    user_id = await repository.consume_reset_token(session, token_hash(secret), utcnow())
    if user_id is None:
        raise invalid
    user = await repository.get_user(session, user_id)
    if user is None or not user.is_active:
        raise invalid
    await set_password(session, user, new_password)
