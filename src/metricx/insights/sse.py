"""Server-sent events for a streamed answer: thinking, token, visual, done (or error).

Pure generators of the wire text, so the endpoint only wraps them in a StreamingResponse.
Each event is `event: <name>` and one `data:` line of compact JSON; the token events
concatenate to exactly the answer text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_TOKEN = re.compile(r"\S+\s*|\s+")


def format_event(event: str, data: Any) -> str:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"event: {event}\ndata: {payload}\n\n"


def answer_events(
    *,
    answer: str,
    payload: dict[str, Any],
    visual: dict[str, Any] | None,
    words_per_token: int = 4,
) -> Iterator[str]:
    """The events of one answer; `payload` is the full JSON response, sent with `done`."""
    yield format_event("thinking", {"stage": "computing", "query": payload.get("query")})
    words = _TOKEN.findall(answer)
    for i in range(0, len(words), words_per_token):
        yield format_event("token", {"text": "".join(words[i : i + words_per_token])})
    if visual is not None:
        yield format_event("visual", visual)
    yield format_event("done", payload)


def error_event(code: str, detail: str) -> str:
    return format_event("error", {"error": code, "detail": detail})


def parse_events(stream: str) -> list[tuple[str, Any]]:
    """Read events back (for tests and clients written in Python)."""
    events = []
    for block in stream.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events
