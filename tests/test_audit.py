"""`make audit` (.ci/audit.py): vulnerabilities fail; an unreachable service only warns."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "audit.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_run(stdout: str = "", stderr: str = "", exc: Exception | None = None) -> Any:
    def run(*_: Any, **__: Any) -> subprocess.CompletedProcess[str]:
        if exc is not None:
            raise exc
        return subprocess.CompletedProcess([], 1, stdout=stdout, stderr=stderr)

    return run


def _report(*deps: dict) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


CLEAN = {"name": "fastapi", "version": "1.0", "vulns": []}
VULN = {
    "name": "jinja2",
    "version": "2.0",
    "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["3.1.6"]}],
}
SKIP = {"name": "uvicorn", "skip_reason": "Dependency not found on PyPI"}


@pytest.mark.parametrize(
    ("run", "strict", "code", "message"),
    [
        (_fake_run(_report(CLEAN, VULN)), False, 1, "VULNERABLE jinja2==2.0: GHSA-xxxx"),
        (_fake_run(_report(CLEAN, SKIP)), False, 0, "1 package(s) audited"),
        (_fake_run(_report(SKIP)), False, 0, "NOT audited"),
        (_fake_run(_report(SKIP)), True, 1, "NOT audited"),
        (_fake_run("", "ConnectionError: Failed to resolve"), False, 0, "unreachable"),
        (_fake_run(exc=subprocess.TimeoutExpired("pip-audit", 1)), False, 0, "longer than"),
    ],
)
def test_audit_outcomes(monkeypatch, capsys, run, strict: bool, code: int, message: str) -> None:
    audit = _load()
    monkeypatch.setattr(audit.subprocess, "run", run)
    monkeypatch.setattr(audit, "STRICT", strict)
    assert audit.main() == code
    out = capsys.readouterr()
    assert message in out.out + out.err
