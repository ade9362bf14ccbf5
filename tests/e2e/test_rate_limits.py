"""Issue 7: a rate limit in the middle of the facts is waited out as the provider says; the
job still succeeds, the connection stays active, and the fake sees no burst of retries."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Shell, values
from tests.e2e.providers import BY_NAME

LIMITED_CALLS = 2  # consecutive rate-limit answers


@dataclass
class Limit:
    """Which facts call is refused, and how long the provider asks us to wait."""

    source: str
    kind: str
    after: int  # calls of `kind` answered normally before the limit
    wait: float

    def configure(self, fake: Any) -> None:
        """Make the fake ask for `wait` seconds in its own wire format."""
        if self.source == "meta":
            fake.regain_minutes = self.wait / 60  # estimated_time_to_regain_access
        else:
            fake.retry_delay = f"{self.wait}s"  # quotaErrorDetails.retryDelay


LIMITS = [
    Limit("meta", "insights", after=2, wait=0.6),
    # Google's first ad_group_ad call reads the entity tree; the next ones are facts.
    Limit("google", "search:ad_group_ad", after=3, wait=0.5),
]


def arm_after(fake: Any, kind: str, after: int) -> None:
    """Rate-limit calls of `kind` once `after` of them went through (i.e. mid-facts)."""
    record = fake.record

    def counting(k: str) -> None:
        record(k)
        if k == kind and fake.calls[kind] == after + 1:
            fake.rate_limit_next(LIMITED_CALLS, only={kind})

    fake.record = counting


@pytest.mark.parametrize("limit", LIMITS, ids=[lim.source for lim in LIMITS])
def test_rate_limit_mid_facts_is_waited_out(
    limit: Limit, shell: Shell, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    source = BY_NAME[limit.source]
    fake = source.start(request, tmp_path, ads=40)
    limit.configure(fake)
    arm_after(fake, limit.kind, limit.after)
    workspace = shell.create_owner(currency=source.currency, timezone=source.timezone)
    connection = source.connect(shell, fake, workspace)

    source.load(shell, fake, connection)  # asserts the run succeeded

    assert shell.last_run(connection) == ("succeeded", None)
    status, error = shell.rows(
        "SELECT status, last_error FROM connections WHERE id = ?", connection
    )[0]
    assert (status, error) == ("active", None)
    assert values(source.stored(shell, connection)) == source.expected(fake)
    # The limited call and its retries: each retry came only after the asked-for wait.
    times = [t for t, k in fake.call_log if k == limit.kind]
    limited = times[limit.after : limit.after + LIMITED_CALLS + 1]
    gaps = [b - a for a, b in itertools.pairwise(limited)]
    assert len(gaps) == LIMITED_CALLS
    assert min(gaps) >= limit.wait * 0.95, gaps
    assert fake.faults.rate_limited == 0  # every refusal was answered
