"""Web fixtures: the demo workspace on the test database, signed in through the form."""

from __future__ import annotations

import pytest

from metricx.db import Database
from tests.factories import Tenant
from tests.web.payload_fixture import load_demo_tenant


@pytest.fixture
async def demo(db: Database) -> Tenant:
    """The small demo workspace with attributions computed (the real services serve it)."""
    return await load_demo_tenant(db)
