"""Provider credentials at rest: AES-GCM, readable during a key rotation, re-encrypted after."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from metricx.connections.service import reencrypt_credentials
from metricx.crypto import SecretBox
from metricx.models import Connection
from tests.conftest import test_settings as settings_for
from tests.factories import make_tenant

OLD_KEY = "old-secret-key-" + "o" * 40
NEW_KEY = "new-secret-key-" + "n" * 40
TOKEN = {"access_token": "EAAB-very-secret-provider-token"}


def test_old_ciphertext_decrypts_during_rotation_and_not_after() -> None:
    blob = SecretBox(OLD_KEY).encrypt_json(TOKEN)
    assert b"very-secret" not in blob  # encrypted, not encoded
    rotating = SecretBox(NEW_KEY, [OLD_KEY])
    assert rotating.decrypt_json(blob) == TOKEN
    assert rotating.needs_rotation(blob)
    fresh = rotating.encrypt_json(TOKEN)
    assert not rotating.needs_rotation(fresh)
    assert SecretBox(NEW_KEY).decrypt_json(fresh) == TOKEN
    with pytest.raises(ValueError):
        SecretBox(NEW_KEY).decrypt_json(blob)  # the old key is really needed for old blobs
    tampered = fresh[:-1] + bytes([fresh[-1] ^ 1])
    with pytest.raises(Exception):  # noqa: B017 - AESGCM raises InvalidTag
        rotating.decrypt(tampered)


async def test_reencrypt_moves_every_stored_credential_to_the_new_key(db, database_url) -> None:
    a = await make_tenant(db, "a@example.com")
    b = await make_tenant(db, "b@example.com")
    old_box = SecretBox(OLD_KEY)
    async with db.transaction() as s:
        for i, ws in enumerate((a.workspace_id, b.workspace_id, b.workspace_id)):
            s.add(
                Connection(
                    workspace_id=ws,
                    provider="meta",
                    external_account_id=f"act_{i}",
                    name=f"M{i}",
                    credentials_encrypted=old_box.encrypt_json({**TOKEN, "n": i}),
                )
            )
        s.add(Connection(workspace_id=ws, provider="csv", external_account_id="f", name="CSV"))
    rotating = settings_for(database_url, secret_key=NEW_KEY, old_secret_keys=OLD_KEY)
    async with db.transaction() as s:
        assert await reencrypt_credentials(s, rotating) == 3
    async with db.transaction() as s:
        assert await reencrypt_credentials(s, rotating) == 0  # idempotent
    only_new = SecretBox(NEW_KEY)
    async with db.transaction() as s:
        blobs = (
            await s.scalars(
                select(Connection.credentials_encrypted)
                .where(Connection.credentials_encrypted.is_not(None))
                .order_by(Connection.external_account_id)
            )
        ).all()
    assert [only_new.decrypt_json(b) for b in blobs] == [{**TOKEN, "n": i} for i in range(3)]
