"""Schemathesis over /api/openapi.json: no 5xx, and every response matches the schema.

Cases are generated from the app's own OpenAPI document (positive and negative data),
sent in-process with a Bearer session of a user who owns a workspace, and checked with
schemathesis' response checks. `workspace_id` is pinned to that workspace for most cases so
the fuzzing reaches the services instead of stopping at the 404. The run is bounded by a
per-operation example count and a total time budget, so it fits in CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from metricx.auth.service import start_session
from metricx.models import User
from tests.factories import make_tenant

EXAMPLES_PER_OPERATION = 20
TIME_BUDGET_SECONDS = 40.0
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _collect(strategy: Any, count: int) -> list[Any]:
    """Draw up to `count` cases from a strategy (hypothesis picks varied, edge-heavy ones)."""
    cases: list[Any] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(case: Any) -> None:
        cases.append(case)

    # Unsatisfiable: e.g. negative data for an operation without any input.
    with contextlib.suppress(Unsatisfiable):
        draw()
    return cases


def _strategies(operation: Any, workspace_id: int) -> list[Any]:
    pinned = {"workspace_id": workspace_id} if "{workspace_id}" in operation.path else None
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=pinned),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE, path_parameters=pinned),
    ]
    if pinned:
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    return strategies


async def _fresh_token(db, user_id: int, app) -> str:  # type: ignore[no-untyped-def]
    # Each case gets its own session: fuzzed logouts and password changes must not
    # sign the rest of the run out.
    async with db.transaction() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return await start_session(session, app.state.settings, user)


@pytest.mark.slow
async def test_openapi_schema_holds_under_fuzzing(app, client: httpx.AsyncClient, db) -> None:
    tenant = await make_tenant(db)
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    # The destructive operation goes last so the workspace exists for everything else.
    operations.sort(key=lambda op: (op.method.upper() == "DELETE" and op.path.endswith("}"),))
    failures: list[str] = []
    sent = 0
    seen: dict[str, int] = {}
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    for operation in operations:
        per_strategy = max(2, EXAMPLES_PER_OPERATION // 2)
        cases = [
            case
            for strategy in _strategies(operation, tenant.workspace_id)
            for case in _collect(strategy, per_strategy)
        ]
        for case in cases:
            if time.monotonic() > deadline:
                break
            token = await _fresh_token(db, tenant.user_id, app)
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            headers = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {token}"}
            try:
                request = client.build_request(
                    kwargs["method"],
                    kwargs["url"],
                    params=kwargs.get("params"),
                    headers=headers,
                    json=kwargs.get("json"),
                    content=kwargs.get("data")
                    if isinstance(kwargs.get("data"), (bytes, str))
                    else None,
                )
            except httpx.InvalidURL:
                continue  # a URL no HTTP client would send (over httpx's length limit)
            response = await asyncio.wait_for(client.send(request), timeout=10)
            sent += 1
            seen[f"{case.method} {case.path} {response.status_code}"] = (
                seen.get(f"{case.method} {case.path} {response.status_code}", 0) + 1
            )
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # collect all, report at the end
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{str(exc)[:600]}\n  body sent: {str(kwargs.get('json'))[:200]}"
                )
    summary = "\n".join(f"  {k}: {v}" for k, v in sorted(seen.items()))
    successes = sum(v for k, v in seen.items() if k.rsplit(" ", 1)[1].startswith("2"))
    assert successes >= 20, f"too few successful calls; is auth working?\n{summary}"
    assert sent > 100, f"only {sent} requests fitted in the time budget"
    assert not failures, (
        f"{len(failures)} failing cases:\n" + "\n".join(failures[:15]) + f"\nsent:\n{summary}"
    )
