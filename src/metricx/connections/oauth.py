"""OAuth connect: a signed expiring state, the code exchange, encrypted grants, the picker.

Nothing is stored until accounts are picked. The state is HMAC-signed (its own key derived
from the secret key) and carries workspace, user, provider, nonce and a 10-minute expiry.
The callback turns the code into an AES-GCM encrypted grant bound to that user and
workspace for 15 minutes; the picker endpoints take the grant. A replayed state cannot mint
a second grant because the provider honours each code once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import httpx
import orjson
import structlog
from cryptography.exceptions import InvalidTag
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.config import Settings
from metricx.connections import oauth_providers as providers
from metricx.connections import repository as repo
from metricx.connections import service
from metricx.connections.oauth_providers import LABELS, Account
from metricx.connections.schemas import (
    ConnectionCreate,
    CredentialsIn,
    OAuthAccountOut,
    OAuthAccountsOut,
    OAuthConnectIn,
    OAuthStartIn,
    myshopify_domain,
)
from metricx.crypto import SecretBox
from metricx.errors import BadRequest, Forbidden, NotFound, ValidationFailed
from metricx.models import Connection
from metricx.tenancy import AuthContext

log = structlog.get_logger("metricx.oauth")
Clock = Callable[[], float]
STATE_TTL_SECONDS = 600
GRANT_TTL_SECONDS = 900
GRANT_KIND = "metricx-oauth-grant-v1"
_STATE_LABEL = b"metricx-oauth-state-v1|"


class OAuthDenied(BadRequest):
    """The user declined at the provider; nothing was granted."""

    def __init__(self, detail: str, *, workspace_id: int) -> None:
        super().__init__(detail)
        self.workspace_id = workspace_id


@dataclass(frozen=True)
class OAuthState:
    """What a verified state says."""

    workspace_id: int
    user_id: int
    provider: str
    nonce: str
    expires_at: float
    shop: str | None = None


@dataclass(frozen=True)
class Grant:
    """An opened grant: provider tokens, for one user in one workspace."""

    workspace_id: int
    user_id: int
    provider: str
    expires_at: float
    secrets: dict[str, str]
    accounts: list[Account] = field(default_factory=list)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _state_key(settings: Settings) -> bytes:
    # A distinct derivation: a state signature can never serve as a session or CSRF token.
    return hashlib.sha256(_STATE_LABEL + settings.secret.encode()).digest()


def _sign(settings: Settings, body: str) -> bytes:
    return hmac.new(_state_key(settings), body.encode(), hashlib.sha256).digest()


def sign_state(
    settings: Settings,
    *,
    workspace_id: int,
    user_id: int,
    provider: str,
    shop: str | None = None,
    now: Clock = time.time,
) -> str:
    """A state for the authorize URL: payload.signature, both base64url."""
    payload = {
        "w": workspace_id,
        "u": user_id,
        "p": provider,
        "n": secrets.token_urlsafe(16),
        "exp": int(now()) + STATE_TTL_SECONDS,
        "s": shop,
    }
    body = _b64(orjson.dumps(payload))
    return f"{body}.{_b64(_sign(settings, body))}"


def verify_state(
    settings: Settings, state: str, *, provider: str, user_id: int, now: Clock = time.time
) -> OAuthState:
    """The state's claims if it is ours, unexpired, for this provider and this user."""
    invalid = BadRequest(
        "The connect request is invalid; start connecting again.", fields=["state"]
    )
    try:
        body, signature = state.split(".")
        if not hmac.compare_digest(_unb64(signature), _sign(settings, body)):
            raise invalid
        data = orjson.loads(_unb64(body))
        claims = OAuthState(
            workspace_id=int(data["w"]),
            user_id=int(data["u"]),
            provider=str(data["p"]),
            nonce=str(data["n"]),
            expires_at=float(data["exp"]),
            shop=data.get("s"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid from exc
    if claims.provider != provider:
        raise invalid
    if claims.user_id != user_id:
        raise Forbidden(
            "This connect request was started by another user: sign in as them or start again."
        )
    if now() > claims.expires_at:
        raise BadRequest(
            "The connect request expired (it lasts 10 minutes); start again.", fields=["state"]
        )
    return claims


def issue_grant(
    settings: Settings,
    *,
    workspace_id: int,
    user_id: int,
    provider: str,
    tokens: dict[str, str],
    accounts: Sequence[Account] = (),
    now: Clock = time.time,
) -> str:
    """An encrypted, authenticated grant (base64url) the account picker accepts."""
    payload = {
        "t": GRANT_KIND,
        "w": workspace_id,
        "u": user_id,
        "p": provider,
        "exp": int(now()) + GRANT_TTL_SECONDS,
        "k": tokens,
        "a": [asdict(a) for a in accounts],
    }
    return _b64(SecretBox.from_settings(settings).encrypt_json(payload))


def open_grant(
    settings: Settings, ctx: AuthContext, grant: str, *, now: Clock = time.time
) -> Grant:
    """The caller's own unexpired grant for this workspace, else 404."""
    gone = NotFound("This authorization was not found or has expired; connect again.")
    try:
        data = SecretBox.from_settings(settings).decrypt_json(_unb64(grant))
        if not isinstance(data, dict) or data.get("t") != GRANT_KIND:
            raise gone
        opened = Grant(
            workspace_id=int(data["w"]),
            user_id=int(data["u"]),
            provider=str(data["p"]),
            expires_at=float(data["exp"]),
            secrets={str(k): str(v) for k, v in dict(data["k"]).items()},
            accounts=[Account(**a) for a in data.get("a") or []],
        )
    except (ValueError, KeyError, TypeError, InvalidTag) as exc:
        raise gone from exc
    if opened.workspace_id != ctx.workspace_id or opened.user_id != ctx.user_id:
        raise gone
    if now() > opened.expires_at:
        raise NotFound("This authorization expired (it lasts 15 minutes); connect again.")
    return opened


def start(
    settings: Settings,
    ctx: AuthContext,
    provider: str,
    body: OAuthStartIn,
    redirect_uri: str,
    *,
    now: Clock = time.time,
) -> str:
    """The provider's authorize URL with a fresh state (admins only)."""
    ctx.require("admin")
    shop = None
    if provider == "shopify":
        if not body.shop_domain:
            raise ValidationFailed(
                "Shopify needs the shop's domain, like brand.myshopify.com.", fields=["shop_domain"]
            )
        shop = body.shop_domain
    app = providers.app_for(settings, provider)
    state = sign_state(
        settings,
        workspace_id=ctx.workspace_id,
        user_id=ctx.user_id,
        provider=provider,
        shop=shop,
        now=now,
    )
    return providers.authorize_url(settings, provider, app, state, redirect_uri, shop)


async def complete(
    http: httpx.AsyncClient,
    settings: Settings,
    user_id: int,
    provider: str,
    params: Sequence[tuple[str, str]],
    redirect_uri: str,
    *,
    now: Clock = time.time,
) -> tuple[int, str]:
    """Check the callback, exchange its code: (workspace id, grant)."""
    query = dict(params)
    claims = verify_state(
        settings, query.get("state", ""), provider=provider, user_id=user_id, now=now
    )
    if query.get("error"):
        reason = (query.get("error_description") or query["error"])[:200]
        raise OAuthDenied(
            f"{LABELS[provider]} did not grant access: {reason}.", workspace_id=claims.workspace_id
        )
    code = query.get("code", "")
    if not code or len(code) > 4096:
        raise ValidationFailed("The callback carries no authorization code.", fields=["code"])
    app = providers.app_for(settings, provider)
    shop = None
    if provider == "shopify":
        if not providers.verify_shopify_hmac(providers.shopify_secrets(settings), params):
            raise BadRequest("Shopify's signature on the callback does not match.", fields=["hmac"])
        try:
            shop = myshopify_domain(query.get("shop", ""))
        except ValueError as exc:
            raise BadRequest("The callback names no valid shop.", fields=["shop"]) from exc
        if shop != claims.shop:
            raise BadRequest("The callback is for another shop than requested.", fields=["shop"])
    tokens = await providers.exchange(http, settings, provider, app, code, redirect_uri, shop)
    accounts = []
    if shop is not None:
        accounts = [await providers.shop_account(http, settings, shop, tokens["access_token"])]
    grant = issue_grant(
        settings,
        workspace_id=claims.workspace_id,
        user_id=user_id,
        provider=provider,
        tokens=tokens,
        accounts=accounts,
        now=now,
    )
    log.info("oauth.authorised", provider=provider, workspace_id=claims.workspace_id)
    return claims.workspace_id, grant


def _account_id(provider: str, value: str) -> str:
    # Accept the forms people paste: 123 or act_123, 123-456-7890, Brand.myshopify.com.
    if provider == "meta":
        return value if value.startswith("act_") else f"act_{value}"
    if provider == "google":
        return value.replace("-", "")
    return value.lower()


async def _visible(http: httpx.AsyncClient, settings: Settings, grant: Grant) -> list[Account]:
    if grant.accounts:
        return grant.accounts
    app = providers.app_for(settings, grant.provider)
    return await providers.accounts(http, settings, grant.provider, app, grant.secrets)


async def list_accounts(
    session: AsyncSession,
    http: httpx.AsyncClient,
    settings: Settings,
    ctx: AuthContext,
    grant: str,
    *,
    now: Clock = time.time,
) -> OAuthAccountsOut:
    """The accounts the grant's token can see, marked when already connected (admins only)."""
    ctx.require("admin")
    opened = open_grant(settings, ctx, grant, now=now)
    accounts = await _visible(http, settings, opened)
    connected = {
        c.external_account_id
        for c in await repo.list_connections(session, ctx)
        if c.provider == opened.provider
    }
    return OAuthAccountsOut(
        provider=opened.provider,
        accounts=[OAuthAccountOut(**asdict(a), connected=a.id in connected) for a in accounts],
    )


async def connect_accounts(
    session: AsyncSession,
    http: httpx.AsyncClient,
    settings: Settings,
    ctx: AuthContext,
    body: OAuthConnectIn,
    *,
    now: Clock = time.time,
) -> list[Connection]:
    """Create (or refresh) one connection per picked account (admins only)."""
    ctx.require("admin")
    opened = open_grant(settings, ctx, body.grant, now=now)
    visible = {a.id: a for a in await _visible(http, settings, opened)}
    picked = [_account_id(opened.provider, i) for i in body.account_ids]
    unknown = [i for i in picked if i not in visible]
    if unknown:
        raise ValidationFailed(
            f"Not visible to the authorised {LABELS[opened.provider]} user: "
            + ", ".join(unknown[:5]),
            fields=["account_ids"],
        )
    credentials = CredentialsIn.model_validate(
        providers.connection_credentials(settings, opened.provider, opened.secrets)
    )
    created: list[Connection] = []
    for account_id in dict.fromkeys(picked):
        account = visible[account_id]
        conn, _ = await service.create_connection(
            session,
            ctx,
            settings,
            ConnectionCreate(
                provider=opened.provider,  # type: ignore[arg-type]
                external_account_id=account.id,
                name=(account.name or "")[:200] or None,
                credentials=credentials,
            ),
        )
        created.append(conn)
    log.info(
        "oauth.connected",
        provider=opened.provider,
        workspace_id=ctx.workspace_id,
        connections=[c.id for c in created],
    )
    return created
