"""Web fixtures: the dashboard and entity builders swapped for the temporary fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from metricx.web import data
from tests.web.payload_fixture import sample_dashboard_payload, sample_entities


@pytest.fixture
def sample_data() -> Iterator[dict]:
    """Serve the sample payload; tests may change `names` to inject hostile strings."""
    names: dict = {"workspace": None, "campaign": "Prospecting — Broad"}

    async def dashboard(session, ctx, tf):  # type: ignore[no-untyped-def]
        from metricx.web import queries

        ws = await queries.workspace_row(session, ctx.workspace_id)
        return sample_dashboard_payload(ctx, tf, name=names["workspace"] or ws.name)

    async def entities(session, ctx, params):  # type: ignore[no-untyped-def]
        return sample_entities(ctx, params, campaign_name=names["campaign"])

    data.set_payload_builder(dashboard)
    data.set_entities_builder(entities)
    try:
        yield names
    finally:
        data.set_payload_builder(None)
        data.set_entities_builder(None)
