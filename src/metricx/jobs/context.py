"""What every job gets: the database, settings, the shared HTTP client and the queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from metricx.config import Settings
from metricx.db import Database
from metricx.models import utcnow
from metricx.sync.connectors import ConnectorFactory, build_for_connection

if TYPE_CHECKING:
    from metricx.jobs.queue import JobQueue


@dataclass
class JobContext:
    """Resources shared by the jobs of one process."""

    db: Database
    settings: Settings
    http: httpx.AsyncClient
    queue: JobQueue | None = None
    # Tests plug fake connectors in here; production uses the registry.
    connector_factory: ConnectorFactory = build_for_connection
    # The clock, so tests can pin "today" in the account's timezone.
    now: Callable[[], datetime] = utcnow
    extra: dict[str, Any] = field(default_factory=dict)

    async def enqueue(self, name: str, **kwargs: Any) -> bool:
        """Enqueue a follow-up job when this process has a queue (the CLI may not)."""
        if self.queue is None:
            return False
        return await self.queue.enqueue(name, **kwargs)
