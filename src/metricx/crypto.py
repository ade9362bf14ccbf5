"""Secrets at rest: AES-256-GCM with keys derived from settings, rotatable."""

from __future__ import annotations

import hashlib
import hmac
import os

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from metricx.config import Settings

_VERSION = b"\x01"


def _derive(secret: str) -> bytes:
    # A distinct derivation so the encryption key never equals the signing key.
    return hashlib.sha256(b"metricx-credentials-v1|" + secret.encode()).digest()


class SecretBox:
    """Encrypts with the current key; decrypts with the current or any older key."""

    def __init__(self, current: str, older: list[str] | None = None) -> None:
        self._keys = [_derive(current)] + [_derive(k) for k in (older or []) if k]

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """Keys from METRICX_SECRET_KEY and METRICX_OLD_SECRET_KEYS."""
        older = [k.strip() for k in settings.old_secret_keys.split(",") if k.strip()]
        return cls(settings.secret, older)

    def _key_id(self, key: bytes) -> bytes:
        return hashlib.sha256(key).digest()[:4]

    def encrypt(self, plaintext: bytes) -> bytes:
        """version | key id | nonce | ciphertext+tag."""
        key = self._keys[0]
        nonce = os.urandom(12)
        return _VERSION + self._key_id(key) + nonce + AESGCM(key).encrypt(nonce, plaintext, None)

    def decrypt(self, blob: bytes) -> bytes:
        """Decrypt with whichever configured key wrote the blob."""
        if not blob or blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext format")
        key_id, nonce, body = blob[1:5], blob[5:17], blob[17:]
        for key in self._keys:
            if hmac.compare_digest(self._key_id(key), key_id):
                return AESGCM(key).decrypt(nonce, body, None)
        raise ValueError("no configured key can decrypt this secret")

    def needs_rotation(self, blob: bytes) -> bool:
        """True when the blob was written with an older key."""
        return blob[1:5] != self._key_id(self._keys[0])

    def encrypt_json(self, value: object) -> bytes:
        """Encrypt a JSON-serialisable value."""
        return self.encrypt(orjson.dumps(value))

    def decrypt_json(self, blob: bytes) -> object:
        """Decrypt a JSON value."""
        return orjson.loads(self.decrypt(blob))


def sha256_hex(value: str) -> str:
    """Hex SHA-256, for storing lookup hashes of tokens."""
    return hashlib.sha256(value.encode()).hexdigest()
