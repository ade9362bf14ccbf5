"""Session and API tokens: random, signed with the secret key, stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_PREFIX = "mxs_"
API_TOKEN_PREFIX = "mxt_"


def _sign(secret: str, raw: str) -> str:
    mac = hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()
    return mac[:32]


def new_token(secret: str, prefix: str) -> str:
    """A new signed token `prefix + random + '.' + signature`."""
    raw = prefix + secrets.token_urlsafe(32)
    return f"{raw}.{_sign(secret, raw)}"


def verify_signature(secret: str, token: str) -> str | None:
    """The unsigned part when the signature matches (constant time), else None."""
    raw, sep, signature = token.rpartition(".")
    if not sep or not raw:
        return None
    if not hmac.compare_digest(_sign(secret, raw), signature):
        return None
    return raw


MAX_TOKEN_LENGTH = 200


def well_formed(secret: str, token: str, prefix: str) -> bool:
    """True for a token of this kind, of sane length, whose signature matches."""
    return (
        token.startswith(prefix)
        and len(token) <= MAX_TOKEN_LENGTH
        and verify_signature(secret, token) is not None
    )


def token_hash(token: str) -> str:
    """What the database stores for a token."""
    return hashlib.sha256(token.encode()).hexdigest()
