"""Drive metricx from the shell and read back what it wrote.

`Shell` owns one migrated SQLite file and runs the real typer app on it (in-process through
CliRunner, or as a `metricx` subprocess for kill tests); reads go through the sqlite3
module so they never share the CLI's engine or event loop.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from metricx.cli import app
from metricx.config import Settings, get_settings
from metricx.main import create_app
from metricx.migrate import upgrade_database
from tests.factories import PASSWORD, login_headers

METRICX = Path(sys.executable).with_name("metricx")
EMAIL = "e2e@example.com"

FactKey = tuple[str, str, str]  # (level, external id, ISO day)
Fact = tuple[int, int, int, float, int]  # spend, impressions, clicks, conversions, revenue


class Shell:
    """The CLI on one SQLite file, with helpers to inspect the result."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.url = f"sqlite+aiosqlite:///{path}"
        self.monkeypatch = monkeypatch
        self.runner = CliRunner()
        self.extra_env: dict[str, str] = {}
        self.setenv(
            METRICX_DATABASE_URL=self.url,
            METRICX_ENV="test",
            METRICX_LOG_LEVEL="WARNING",
            METRICX_JOBS_INLINE="true",
        )
        monkeypatch.delenv("METRICX_REDIS_URL", raising=False)
        asyncio.run(upgrade_database(self.url))

    # --- environment and commands ---------------------------------------------

    def setenv(self, **values: str) -> None:
        """Set METRICX_* variables for in-process commands and subprocesses alike."""
        for key, value in values.items():
            self.monkeypatch.setenv(key, value)
            self.extra_env[key] = value
        get_settings.cache_clear()

    def cli(self, *args: str, stdin: str | None = None, code: int = 0) -> str:
        """Run one command in-process; assert its exit code; return its output."""
        get_settings.cache_clear()
        result = self.runner.invoke(app, list(args), input=stdin, catch_exceptions=False)
        assert result.exit_code == code, (args, result.output)
        return result.output

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """Start `metricx ARGS` as its own process on the same database and fakes.

        Its stderr goes to the database's name + ".stderr"."""
        env = {**os.environ, **self.extra_env}
        # A file, not a pipe: a full pipe would stall the child's progress output.
        with open(self.path.with_suffix(".stderr"), "wb") as err:
            return subprocess.Popen(
                [str(METRICX), *args],
                env=env,
                cwd=self.path.parent,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def create_owner(self, *, currency: str, timezone: str) -> int:
        """`metricx user create` with a workspace; returns the workspace id."""
        self.cli(
            "user", "create", "--email", EMAIL, "--password", PASSWORD,
            "--workspace", "E2E", "--currency", currency, "--timezone", timezone,
        )  # fmt: skip
        return int(self.scalar("SELECT max(id) FROM workspaces"))

    def add_connection(self, *args: str, stdin: str | None = None) -> int:
        """`metricx connections add ARGS`; returns the new connection's id."""
        out = self.cli("connections", "add", *args, stdin=stdin)
        assert "connection" in out, out
        return int(self.scalar("SELECT max(id) FROM connections"))

    # --- reading the database ---------------------------------------------------

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the SQLite file (a fresh connection each time)."""
        with sqlite3.connect(self.path, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params: Any) -> Any:
        """The first column of the first row."""
        rows = self.rows(sql, *params)
        return rows[0][0] if rows else None

    def facts(self, connection_id: int) -> dict[FactKey, tuple[Fact, str]]:
        """{(level, external id, day): ((measures), updated_at)} of one connection."""
        out: dict[FactKey, tuple[Fact, str]] = {}
        for level, ext, day, spend, imp, clicks, conv, rev, updated in self.rows(
            "SELECT e.level, e.external_id, f.event_date, f.spend_micros, f.impressions, "
            "f.clicks, f.conversions, f.revenue_micros, f.updated_at FROM metric_facts f "
            "JOIN entities e ON e.id = f.entity_id WHERE f.connection_id = ?",
            connection_id,
        ):
            out[(level, ext, str(day)[:10])] = ((spend, imp, clicks, float(conv), rev), updated)
        return out

    def orders(self, connection_id: int) -> dict[str, tuple[tuple[Any, ...], str]]:
        """{external id: ((order day, total, refunded, source updated_at), updated_at)}."""
        return {
            ext: ((str(day)[:10], total, refunded, str(source)[:19]), updated)
            for ext, day, total, refunded, source, updated in self.rows(
                "SELECT external_id, order_date, total_micros, refunded_micros, "
                "source_updated_at, updated_at FROM shopify_orders WHERE connection_id = ?",
                connection_id,
            )
        }

    def last_run(self, connection_id: int) -> tuple[str, str | None]:
        """(status, error) of the connection's latest sync run."""
        row = self.rows(
            "SELECT status, error FROM sync_runs WHERE connection_id = ? ORDER BY id DESC LIMIT 1",
            connection_id,
        )
        return row[0] if row else ("none", None)

    # --- the dashboard ------------------------------------------------------------

    def kpis(self, workspace_id: int, start: date, end: date, metrics: list[str]) -> dict:
        """KPI values of a custom range from the real app, signed in as the owner."""

        async def go() -> dict[str, Any]:
            settings = Settings(
                env="test",
                database_url=self.url,
                log_level="WARNING",
                scheduler_interval_seconds=0,
                cache_enabled=False,
            )
            web = create_app(settings)
            async with web.router.lifespan_context(web):
                transport = httpx.ASGITransport(app=web)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                    headers = await login_headers(c, EMAIL)
                    response = await c.get(
                        f"/api/workspaces/{workspace_id}/dashboard/kpis",
                        params={
                            "metrics": ",".join(metrics),
                            "start": start.isoformat(),
                            "end": end.isoformat(),
                            "compare": "false",
                            "sparkline": "false",
                        },
                        headers=headers,
                    )
            assert response.status_code == 200, response.text
            return {k["key"]: k["value"] for k in response.json()["kpis"]}

        return asyncio.run(go())


def changed(before: dict[Any, Any], after: dict[Any, Any], part: int = 0) -> set[Any]:
    """Keys whose element `part` differs (0: values, 1: updated_at); both must match keys."""
    assert before.keys() == after.keys()
    return {k for k in before if before[k][part] != after[k][part]}


def values(stored: dict[Any, tuple[Any, Any]]) -> dict[Any, Any]:
    """The stored rows without their timestamps."""
    return {k: v for k, (v, _) in stored.items()}
