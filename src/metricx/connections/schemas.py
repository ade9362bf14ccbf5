"""API shapes of connections; credentials go in and never come out."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Provider = Literal["meta", "google", "tiktok", "shopify", "csv"]
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9.-]{0,250}[a-z0-9](:\d{1,5})?$")


class CredentialsIn(BaseModel):
    """Provider credentials; which fields are needed depends on the provider."""

    model_config = ConfigDict(extra="forbid")

    access_token: SecretStr | None = Field(default=None, max_length=4096)
    refresh_token: SecretStr | None = Field(default=None, max_length=4096)
    client_id: str | None = Field(default=None, max_length=512)
    client_secret: SecretStr | None = Field(default=None, max_length=512)
    developer_token: SecretStr | None = Field(default=None, max_length=512)
    login_customer_id: str | None = Field(default=None, max_length=32)
    shop_domain: str | None = Field(default=None, max_length=255)

    @field_validator("shop_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower().removeprefix("https://").removesuffix("/")
        if not SHOP_DOMAIN.match(value):
            raise ValueError("must be a shop domain like brand.myshopify.com")
        return value

    def plain(self) -> dict[str, str]:
        """The set values as plain strings (to be encrypted)."""
        out: dict[str, str] = {}
        for key, value in self:
            if value is None:
                continue
            text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            if text.strip():
                out[key] = text.strip()
        return out


class ConnectionSettingsIn(BaseModel):
    """Per-connection sync knobs."""

    model_config = ConfigDict(extra="forbid")

    restatement_days: int | None = Field(default=None, ge=1, le=400)
    backfill_days: int | None = Field(default=None, ge=1, le=1098)
    chunk_days: int | None = Field(default=None, ge=1, le=92)


class ConnectionCreate(BaseModel):
    """Token-based connect."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider
    external_account_id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=200)
    credentials: CredentialsIn = Field(default_factory=CredentialsIn)
    sync_frequency_minutes: int | None = Field(default=None, ge=5, le=1440)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    settings: ConnectionSettingsIn | None = None

    @field_validator("external_account_id")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class ConnectionUpdate(BaseModel):
    """What an admin may change on a connection."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    sync_frequency_minutes: int | None = Field(default=None, ge=5, le=1440)
    status: Literal["active", "paused"] | None = None
    credentials: CredentialsIn | None = None
    settings: ConnectionSettingsIn | None = None


class RunOut(BaseModel):
    """A sync run summary."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    rows_written: int
    counters: dict[str, Any]
    error: str | None
    attempt: int
    created_at: datetime


class ConnectionOut(BaseModel):
    """A connection as the API shows it (never its credentials)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    external_account_id: str
    name: str
    currency: str
    timezone: str
    shop_domain: str | None
    status: str
    sync_frequency_minutes: int
    last_sync_started_at: datetime | None
    last_sync_finished_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    next_sync_at: datetime | None
    settings: dict[str, Any]
    has_credentials: bool = False
    last_run: RunOut | None = None


class SyncQueued(BaseModel):
    """The run that a sync-now request queued (or the one already queued)."""

    run_id: int
    status: str


class ImportOut(BaseModel):
    """What a CSV import wrote."""

    run_id: int
    rows: int
    facts_written: int
    entities: int
    start: str | None
    end: str | None


OAuthProvider = Literal["meta", "google", "shopify"]
MYSHOPIFY_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$")
GRANT_MAX = 8192


def myshopify_domain(value: str) -> str:
    """A normalised `brand.myshopify.com`, or ValueError."""
    value = value.strip().lower().removeprefix("https://").removesuffix("/")
    if not MYSHOPIFY_DOMAIN.match(value):
        raise ValueError("must be a shop domain like brand.myshopify.com")
    return value


class OAuthStartIn(BaseModel):
    """Begin an OAuth connect; Shopify needs the shop to send the merchant to."""

    model_config = ConfigDict(extra="forbid")

    shop_domain: str | None = Field(default=None, max_length=255)

    @field_validator("shop_domain")
    @classmethod
    def _shop(cls, value: str | None) -> str | None:
        return None if value is None else myshopify_domain(value)


class OAuthStartOut(BaseModel):
    """Where to send the browser."""

    authorize_url: str


class OAuthGrantOut(BaseModel):
    """The callback's answer to a JSON client: the grant the account picker takes."""

    workspace_id: int
    provider: str
    grant: str


class OAuthAccountOut(BaseModel):
    """An account the signed-in provider user can connect."""

    id: str
    name: str | None = None
    currency: str | None = None
    timezone: str | None = None
    connected: bool = False


class OAuthAccountsOut(BaseModel):
    """The account picker."""

    provider: str
    accounts: list[OAuthAccountOut]


class OAuthConnectIn(BaseModel):
    """Connect the picked accounts with a grant from the callback."""

    model_config = ConfigDict(extra="forbid")

    grant: str = Field(min_length=1, max_length=GRANT_MAX)
    account_ids: list[str] = Field(min_length=1, max_length=50)

    @field_validator("account_ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        ids = [v.strip() for v in value]
        if any(not v or len(v) > 128 for v in ids):
            raise ValueError("each account id must be 1 to 128 characters")
        return list(dict.fromkeys(ids))
