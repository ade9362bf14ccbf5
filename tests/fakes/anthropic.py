"""A loopback fake of the Anthropic Messages API, scripted per test.

An ASGI app served by uvicorn on 127.0.0.1 and a free port, in its own thread. Each
POST /v1/messages pops the next scripted step (so SDK retries consume steps too) and is
recorded in `requests`. Steps: a tool_use message, a text message, an API error with its
status and type (optionally Retry-After), or a hang that never answers in time.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Step:
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0


def _message(content: list[dict[str, Any]], stop_reason: str, tokens: tuple[int, int]) -> Step:
    return Step(
        body={
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": "claude-fake",
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
        }
    )


def tool_use(tool_input: dict[str, Any], name: str = "run_metrics_query") -> Step:
    block = {"type": "tool_use", "id": "toolu_fake", "name": name, "input": tool_input}
    return _message([block], "tool_use", (420, 60))


def text(answer: str) -> Step:
    return _message([{"type": "text", "text": answer}], "end_turn", (300, 40))


def error(status: int, kind: str, retry_after: str | None = None) -> Step:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    body = {"type": "error", "error": {"type": kind, "message": kind.replace("_", " ")}}
    return Step(status=status, body=body, headers=headers)


def rate_limited(retry_after: str = "0") -> Step:
    return error(429, "rate_limit_error", retry_after)


def overloaded() -> Step:
    return error(529, "overloaded_error")


def api_error() -> Step:
    return error(500, "api_error")


def hang(seconds: float = 5.0) -> Step:
    return Step(hang_seconds=seconds)


class FakeAnthropic:
    """The ASGI app plus its server thread."""

    def __init__(self) -> None:
        self.steps: deque[Step] = deque()
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *steps: Step) -> None:
        self.steps.clear()
        self.requests.clear()
        self.steps.extend(steps)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                kind = event["type"].replace("lifespan.", "")
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        if scope["path"] != "/v1/messages" or scope["method"] != "POST":
            await self._send(send, Step(status=404, body={"type": "error"}))
            return
        self.requests.append(json.loads(body or b"{}"))
        step = self.steps.popleft() if self.steps else api_error()
        if step.hang_seconds:
            await asyncio.sleep(step.hang_seconds)
        await self._send(send, step)

    @staticmethod
    async def _send(send: Any, step: Step) -> None:
        payload = json.dumps(step.body).encode()
        headers = [(b"content-type", b"application/json"), (b"request-id", b"req_fake")]
        headers += [(k.encode(), v.encode()) for k, v in step.headers.items()]
        await send({"type": "http.response.start", "status": step.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def start(self) -> FakeAnthropic:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Anthropic server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
