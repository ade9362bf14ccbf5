"""Issue 7, "Done when": connect from the shell, load 90 days, restate three, check the
dashboard, for every source (Meta with 1,000 ads; smaller accounts for the others)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import Shell, changed, values
from tests.e2e.providers import SOURCES, Source, local_today


@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_connect_load_restate_and_dashboard(
    source: Source, shell: Shell, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    fake = source.start(request, tmp_path)
    workspace = shell.create_owner(currency=source.currency, timezone=source.timezone)
    connection = source.connect(shell, fake, workspace)

    # First load: a 90-day backfill, exactly the source's rows.
    source.load(shell, fake, connection)
    first = source.stored(shell, connection)
    assert values(first) == source.expected(fake)
    assert shell.last_run(connection)[0] == "succeeded"

    # Three restated days: the second load changes exactly their rows and nothing else.
    today = local_today(source.timezone)
    days = [today - timedelta(days=n) for n in source.restated_days_ago]
    must_change = source.restate(fake, days)
    assert must_change
    source.load(shell, fake, connection)
    second = source.stored(shell, connection)
    assert values(second) == source.expected(fake)
    assert changed(first, second) == must_change
    if source.name != "shopify":  # facts: unchanged rows are not even rewritten
        assert changed(first, second, part=1) == must_change

    # The dashboard's totals over the 90 days are the source's totals.
    start = today - timedelta(days=89)
    kpis = shell.kpis(workspace, start, today, source.metrics)
    want = source.totals(fake)
    for metric in source.metrics:
        unit = 100 if metric in ("spend", "revenue", "order_revenue") else 1
        assert round(kpis[metric] * unit) == want[metric], metric
