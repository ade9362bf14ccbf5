"""The SSE helper: event order, tokens that rebuild the answer, error events."""

from __future__ import annotations

from metricx.insights.sse import answer_events, error_event, parse_events


def test_events_in_order_and_tokens_rebuild_the_answer() -> None:
    answer = "ROAS was 2.41 in the last 7 days (Nov 21 \u2013 Nov 27),\ndown 18.2%."
    payload = {"answer": answer, "query": {"metrics": ["roas"]}, "engine": "rules"}
    events = parse_events(
        "".join(answer_events(answer=answer, payload=payload, visual={"type": "kpi"}))
    )
    kinds = [k for k, _ in events]
    assert kinds[0] == "thinking" and kinds[-2:] == ["visual", "done"]
    assert set(kinds[1:-2]) == {"token"}
    assert "".join(d["text"] for k, d in events if k == "token") == answer
    assert events[-1][1] == payload


def test_no_visual_and_error_event() -> None:
    events = parse_events("".join(answer_events(answer="", payload={}, visual=None)))
    assert [k for k, _ in events] == ["thinking", "done"]
    assert parse_events(error_event("bad_request", "empty")) == [
        ("error", {"error": "bad_request", "detail": "empty"})
    ]
