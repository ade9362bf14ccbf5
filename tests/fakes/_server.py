"""Run an ASGI app on 127.0.0.1:<free port> in a background thread.

A thread with its own event loop keeps the fake independent of the test's loop: a fake
that hangs on purpose never blocks the client under test, and session-scoped tests can
share one server.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import uvicorn


class LiveServer:
    """Start/stop an ASGI app on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        """Bind, serve in a thread and wait until ready; returns the base URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        server = self.server

        def run() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self.thread = threading.Thread(target=run, name=f"fake-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        """Ask the server to exit and wait for the thread."""
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)


@dataclass
class Faults:
    """Failures a fake injects into its next calls, then forgets."""

    rate_limited: int = 0
    server_errors: int = 0
    hangs: int = 0
    hang_seconds: float = 30.0
    token_expired: bool = False
    # Only calls whose kind is in `only` are affected (empty = all calls).
    only: set[str] = field(default_factory=set)

    def applies(self, kind: str) -> bool:
        """True when the injected faults target this kind of call."""
        return not self.only or kind in self.only


class FakeBase:
    """Counters and fault injection shared by every fake."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.call_log: list[tuple[float, str]] = []
        self.faults = Faults()
        self.app: Any = None
        self._live: LiveServer | None = None

    # lifecycle -------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL while running."""
        assert self._live is not None, "fake not started"
        return self._live.url

    def start(self) -> str:
        """Serve on 127.0.0.1:<free port>; returns the base URL."""
        self._live = LiveServer(self.app)
        return self._live.start()

    def stop(self) -> None:
        """Stop serving."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    # knobs ---------------------------------------------------------------

    def rate_limit_next(self, calls: int, *, only: set[str] | None = None) -> None:
        """Answer the next `calls` calls with the provider's rate-limit error."""
        self.faults.rate_limited = calls
        self.faults.only = set(only or ())

    def fail_next(self, calls: int, *, only: set[str] | None = None) -> None:
        """Answer the next `calls` calls with a 5xx."""
        self.faults.server_errors = calls
        self.faults.only = set(only or ())

    def hang_next(self, calls: int, seconds: float = 30.0) -> None:
        """Hold the next `calls` calls open for `seconds` before answering."""
        self.faults.hangs = calls
        self.faults.hang_seconds = seconds

    def expire_token(self, expired: bool = True) -> None:
        """Reject the current token from now on (or accept it again)."""
        self.faults.token_expired = expired

    def total_calls(self, *kinds: str) -> int:
        """Calls counted for the given kinds (all kinds when none given)."""
        if not kinds:
            return sum(self.calls.values())
        return sum(self.calls[k] for k in kinds)

    # used by the apps ------------------------------------------------------

    def record(self, kind: str) -> None:
        """Count one call."""
        self.calls[kind] += 1
        self.call_log.append((time.monotonic(), kind))

    async def injected(self, kind: str) -> str | None:
        """The fault to answer this call with: 'rate', '5xx', or None (hangs are slept)."""
        f = self.faults
        if not f.applies(kind):
            return None
        if f.hangs > 0:
            f.hangs -= 1
            await asyncio.sleep(f.hang_seconds)
        if f.rate_limited > 0:
            f.rate_limited -= 1
            return "rate"
        if f.server_errors > 0:
            f.server_errors -= 1
            return "5xx"
        return None


def mix(*parts: int) -> int:
    """A cheap deterministic hash of integers (no random state, stable across runs)."""
    h = 0x345678
    for p in parts:
        h = (h * 1_000_003) ^ (p & 0xFFFFFFFFFFFF)
        h &= 0xFFFFFFFFFFFFFFFF
    h ^= h >> 29
    h = (h * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 32
    return h
