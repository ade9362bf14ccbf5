"""End-to-end tests: the real CLI against the loopback fakes on a per-test SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metricx.config import get_settings
from tests.e2e.harness import Shell
from tests.fakes.fixtures import *  # noqa: F403


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shell]:
    """A migrated SQLite file, the CLI pointed at it, and a user owning workspace 1."""
    monkeypatch.chdir(tmp_path)
    sh = Shell(tmp_path / "e2e.db", monkeypatch)
    yield sh
    get_settings.cache_clear()
