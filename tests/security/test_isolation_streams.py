"""The isolation matrix's world, through the variants the matrix's one call per route misses:
the questions SSE stream and the CSV export, with both Bearer and cookie sessions."""

from __future__ import annotations

import pytest

from tests.security.test_isolation_matrix import (
    MARKER,
    MISSING_WORKSPACE_ID,
    Case,
    W,
    build_world,
    call,
)

SSE = {"Accept": "text/event-stream"}
QUESTION = {"question": "what was my spend last week?"}


async def _stream(client, app, world, who, auth, workspace_id=None):  # type: ignore[no-untyped-def]
    case = Case(body=QUESTION, auth=auth)
    client.headers.update(SSE)
    try:
        return await call(client, app, "POST", W + "/questions", case, world, who, workspace_id)
    finally:
        client.headers.pop("Accept", None)


@pytest.mark.parametrize("auth", ["bearer", "cookie"])
async def test_question_stream_is_404_for_outsiders(client, app, db, auth) -> None:
    world = await build_world(db, app.state.settings)
    foreign = await _stream(client, app, world, "outsider", auth)
    missing = await _stream(client, app, world, "outsider", auth, MISSING_WORKSPACE_ID)
    assert foreign.status_code == 404, foreign.text
    # An error, not a stream that happens to say "not found" after the headers went out.
    assert foreign.headers["content-type"].startswith("application/json")
    assert foreign.content == missing.content
    assert MARKER.lower() not in foreign.text.lower()
    viewer = await _stream(client, app, world, "viewer", auth)
    assert viewer.status_code == 200, viewer.text
    assert viewer.headers["content-type"].startswith("text/event-stream")
    assert "event:" in viewer.text


@pytest.mark.parametrize("auth", ["bearer", "cookie"])
async def test_export_is_404_for_outsiders_and_holds_only_the_workspaces_rows(
    client, app, db, auth
) -> None:
    world = await build_world(db, app.state.settings)
    case = Case(query={"level": "campaign"}, auth=auth)
    url = W + "/export.csv"
    foreign = await call(client, app, "GET", url, case, world, "outsider")
    assert foreign.status_code == 404
    assert MARKER.lower() not in foreign.text.lower()
    # The outsider's own export is fine and holds none of the target's campaigns.
    own = await call(
        client, app, "GET", url, case, world, "outsider", world.ids["other_workspace_id"]
    )
    assert own.status_code == 200 and MARKER not in own.text
    mine = await call(client, app, "GET", url, case, world, "viewer")
    assert mine.status_code == 200 and f"Campaign {MARKER}" in mine.text
