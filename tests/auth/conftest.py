"""Cheap argon2 parameters for tests that create and sign in many users.

Production cost (about a second per hash on a busy CI box) would dominate these suites
without testing anything more; the hashing code path is the same.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from metricx.auth import passwords


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Swap the module's hasher for a minimal-cost one for the duration of a test."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", fast)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", fast.hash("metricx-dummy-password"))
    yield
