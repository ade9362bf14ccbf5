"""Job contexts wired to fake connectors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from metricx.db import Database
from metricx.jobs.context import JobContext
from tests.sync.fakes import NOW


@pytest.fixture
async def make_jc(db: Database) -> AsyncIterator[Callable[..., JobContext]]:
    """Build a JobContext whose connector factory returns the given fake."""
    http = httpx.AsyncClient()

    def make(connector: Any = None, *, factory: Any = None, **kwargs: Any) -> JobContext:
        def default_factory(**_: Any) -> Any:
            return connector

        return JobContext(
            db=db,
            settings=db.settings,
            http=http,
            connector_factory=factory or default_factory,
            now=kwargs.pop("now", lambda: NOW),
            **kwargs,
        )

    yield make
    await http.aclose()
