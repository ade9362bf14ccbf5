"""`metricx serve` as a real subprocess on a private database, and a seeded tenant."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from metricx.db import Database
from tests.attribution.helpers import SECRET, pixel_key, shopify_connection
from tests.conftest import test_settings
from tests.factories import make_tenant
from tests.reliability.services import free_port

METRICX = Path(sys.executable).with_name("metricx")


@dataclass
class Seeded:
    """A tenant with a pixel key and a Shopify connection (webhooks land on it)."""

    workspace_id: int
    email: str
    pixel_key: str


async def seed(database_url: str) -> Seeded:
    """Create the tenant through the services, on its own short-lived engine."""
    db = Database(test_settings(database_url), url=database_url)
    try:
        tenant = await make_tenant(db)
        await shopify_connection(db, tenant.workspace_id)
        key = await pixel_key(db, tenant.workspace_id)
    finally:
        await db.dispose()
    return Seeded(tenant.workspace_id, tenant.email, key)


class ServeProcess:
    """One `metricx serve` process; stderr is kept in a file for failure messages."""

    def __init__(self, tmp: Path, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr_path = tmp / f"serve-{self.port}.stderr"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("METRICX_")}
        self.env = {
            **inherited,
            "METRICX_ENV": "test",
            "METRICX_DATABASE_URL": database_url,
            "METRICX_LOG_LEVEL": "WARNING",
            "METRICX_JOBS_INLINE": "true",
            "METRICX_SCHEDULER_INTERVAL_SECONDS": "0",
            "METRICX_SHOPIFY_APP_SECRET": SECRET,
            "METRICX_DB_POOL_TIMEOUT": "2",
            "METRICX_DB_CONNECT_TIMEOUT": "2",
            "METRICX_LOGIN_RATE_LIMIT": "1000",
            "METRICX_SLOW_QUERY_MS": "60000",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start and wait until /healthz answers."""
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(METRICX), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self.stderr()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"serve did not start:\n{self.stderr()}")

    def stderr(self) -> str:
        """What the process wrote to stderr so far (the tail)."""
        try:
            return self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def terminate(self) -> None:
        """SIGTERM: uvicorn drains in-flight requests, then runs the lifespan shutdown."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        """The exit code."""
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """Stop it whatever its state (fixture teardown)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(25)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class WorkerProcess:
    """One `metricx worker` (arq) process on the given database and Redis."""

    def __init__(self, tmp: Path, database_url: str, redis_url: str, **env: str) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("METRICX_")}
        self.env = {
            **inherited,
            "METRICX_ENV": "test",
            "METRICX_DATABASE_URL": database_url,
            "METRICX_REDIS_URL": redis_url,
            "METRICX_LOG_LEVEL": "INFO",
            "METRICX_SLOW_QUERY_MS": "60000",
            "METRICX_SCHEDULER_INTERVAL_SECONDS": "1",
            **env,
        }
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_path = tmp / "worker.stderr"

    def start(self) -> None:
        """Start it (it connects to Redis and runs the scheduler cron at once)."""
        n = len(list(self.tmp.glob("worker-*.stderr")))
        self.stderr_path = self.tmp / f"worker-{n}.stderr"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(METRICX), "worker"], env=self.env, stdout=err, stderr=subprocess.STDOUT
            )

    def stderr(self) -> str:
        """The tail of its output."""
        try:
            return self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self) -> int:
        """SIGKILL: no shutdown hook, no cleanup, the job stays 'in progress' in Redis."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (teardown)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
