"""Auth request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

NEW_PASSWORD_MIN = 8
# Patterns keep control characters (NUL above all: PostgreSQL refuses it in text) out of
# everything stored or looked up, and tell API clients and fuzzers what is valid.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"
EMAIL = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"
TOKEN = r"^[A-Za-z0-9_.\-]+$"


class LoginIn(BaseModel):
    """Credentials."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)
    password: str = Field(min_length=1, max_length=1024)


class RegisterIn(BaseModel):
    """A new account."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)
    password: str = Field(min_length=NEW_PASSWORD_MIN, max_length=1024)
    name: str = Field(default="", max_length=200, pattern=PLAIN_TEXT)


class DeleteAccountIn(BaseModel):
    """The password again: deleting an account cannot be undone."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1024)


class ChangePasswordIn(BaseModel):
    """The current password and the one replacing it."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=NEW_PASSWORD_MIN, max_length=1024)


class ResetRequestIn(BaseModel):
    """Ask for a password reset link."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)


class ResetConfirmIn(BaseModel):
    """Set a new password with a reset token."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200, pattern=TOKEN)
    new_password: str = Field(min_length=NEW_PASSWORD_MIN, max_length=1024)


class UserOut(BaseModel):
    """A user as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str


class TokenOut(BaseModel):
    """A successful sign-in: the session token (also set as a cookie) and the user."""

    access_token: str
    token_type: str = "bearer"
    user: UserOut
    csrf_token: str = Field(description="Send as X-CSRF-Token on cookie-authenticated writes.")


class CsrfOut(BaseModel):
    """The CSRF token of the current session."""

    csrf_token: str


class MessageOut(BaseModel):
    """A plain acknowledgement."""

    detail: str


class ApiTokenIn(BaseModel):
    """A new personal API token."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=PLAIN_TEXT)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiTokenOut(BaseModel):
    """An API token without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiTokenCreatedOut(ApiTokenOut):
    """A new API token; `token` is shown this once and never again."""

    token: str
