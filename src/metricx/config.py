"""Settings: the only place that reads the environment."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development", "placeholder"}
DEV_SECRET_FILE = Path(".metricx-secret")


def _dev_secret(path: Path) -> str:
    """Read (or create once) the development secret so sessions survive restarts."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(48)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


class Settings(BaseSettings):
    """Every knob of metricx; env prefix METRICX_."""

    model_config = SettingsConfigDict(env_prefix="METRICX_", env_file=None, extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///metricx.db"
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    # Extra keys accepted for decrypting older secrets after a rotation (comma separated).
    old_secret_keys: str = ""

    db_pool_size: int = 20
    db_max_overflow: int = 10
    db_pool_timeout: float = 5.0
    db_statement_timeout_ms: int = 30_000
    db_connect_timeout: float = 5.0
    slow_query_ms: float = 100.0
    # Fact-summing statements (custom ranges, entity pages) running at once per process.
    heavy_query_concurrency: int = 2
    log_level: str = "INFO"
    log_json: bool = False

    cache_enabled: bool = True
    cache_max_entries: int = 5_000
    cache_ttl_seconds: int = 1_800
    # Seconds an API process keeps a resolved AuthContext (PostgreSQL only: the change
    # feed drops it as soon as its credential, membership or workspace changes). 0: off.
    auth_cache_seconds: float = 30.0

    session_ttl_hours: int = 24 * 14
    cookie_secure: bool | None = None
    login_rate_limit: int = 10
    login_rate_window_seconds: int = 300

    max_body_bytes: int = 1_048_576
    pixel_max_body_bytes: int = 262_144
    pixel_max_batch: int = 100
    pixel_rate_limit_per_minute: int = 6_000

    http_timeout_seconds: float = 30.0
    meta_graph_url: str = "https://graph.facebook.com/v25.0"
    google_ads_url: str = "https://googleads.googleapis.com/v22"
    google_oauth_url: str = "https://oauth2.googleapis.com/token"
    tiktok_url: str = "https://business-api.tiktok.com/open_api/v1.3"
    shopify_base_url_override: str | None = None
    shopify_api_version: str = "2025-10"
    shopify_app_secret: SecretStr | None = None

    # OAuth connect flows: the provider apps an operator registers (unset = flow disabled).
    # The externally visible base URL for OAuth redirect URIs; the request's own when unset.
    public_url: str | None = None
    meta_app_id: str | None = None
    meta_app_secret: SecretStr | None = None
    meta_oauth_dialog_url: str = "https://www.facebook.com/v25.0/dialog/oauth"
    meta_oauth_scopes: str = "ads_read"
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_developer_token: SecretStr | None = None
    google_oauth_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    shopify_app_key: str | None = None
    shopify_oauth_scopes: str = "read_orders,read_products"

    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("METRICX_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
    )
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-sonnet-4-5"
    anthropic_timeout_seconds: float = 8.0

    sentry_dsn: str | None = Field(
        default=None, validation_alias=AliasChoices("METRICX_SENTRY_DSN", "SENTRY_DSN")
    )
    jobs_inline: bool | None = None
    scheduler_interval_seconds: int = 60
    default_sync_frequency_minutes: int = 15

    @model_validator(mode="after")
    def _check_secret(self) -> Settings:
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < 16:
            if self.env == "production":
                raise ValueError(
                    "METRICX_SECRET_KEY must be set to a random value of at least 16 characters "
                    "in production (for example: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')"
                )
            if self.env == "test":
                self.secret_key = SecretStr("test-secret-key-not-for-production-use")
            else:
                self.secret_key = SecretStr(_dev_secret(DEV_SECRET_FILE))
        return self

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded default."""
        return self.database_url.startswith("sqlite")

    @property
    def secret(self) -> str:
        """The current signing and encryption master secret."""
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()

    @property
    def run_jobs_inline(self) -> bool:
        """Jobs run in-process unless a Redis queue is configured."""
        if self.jobs_inline is not None:
            return self.jobs_inline
        return self.redis_url is None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own instead)."""
    return Settings()
