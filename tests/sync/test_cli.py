"""The shell commands end to end on a fresh SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from metricx.cli import app
from metricx.config import get_settings


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("METRICX_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("METRICX_ENV", "test")
    monkeypatch.setenv("METRICX_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("METRICX_REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    yield runner, tmp_path
    get_settings.cache_clear()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return f"{result.exit_code}:{result.output}"


def test_connect_import_and_rates_from_the_shell(cli_env) -> None:  # type: ignore[no-untyped-def]
    runner, tmp = cli_env
    assert invoke(runner, "db", "upgrade").startswith("0:")
    out = invoke(
        runner,
        "user",
        "create",
        "--email",
        "c@example.com",
        "--password",
        "correct horse b",
        "--workspace",
        "B",
        "--currency",
        "EUR",
    )
    assert out.startswith("0:")
    assert invoke(
        runner, "connections", "add", "meta", "--workspace", "1", "--account", "a"
    ).startswith("1:")
    assert invoke(
        runner, "connections", "add", "csv", "--workspace", "1", "--account", "sheet"
    ).startswith("0:")
    (tmp / "ads.csv").write_text("date,campaign_id,spend,currency\n2026-01-05,c1,10,USD\n")
    assert "USD→EUR" in invoke(runner, "import", "csv", "--connection", "1", str(tmp / "ads.csv"))
    (tmp / "rates.csv").write_text("date,base,quote,rate\n2026-01-01,EUR,USD,1.25\n")
    assert invoke(runner, "fx", "import", str(tmp / "rates.csv")).startswith("0:")
    out = invoke(runner, "import", "csv", "--connection", "1", str(tmp / "ads.csv"))
    assert out.startswith("0:") and "facts_written" in out
    listing = invoke(runner, "connections", "list", "--workspace", "1")
    assert "sheet" in listing and "succeeded" in listing
    assert invoke(runner, "sync", "--connection", "1").startswith("1:")  # csv does not sync
