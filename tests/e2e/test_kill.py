"""Issue 7: a sync killed in the middle (SIGKILL, after a committed chunk) and run again
leaves exactly what a clean run leaves."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.harness import Shell, values
from tests.e2e.providers import SOURCES, Source

KILLED = [s for s in SOURCES if s.name in ("meta", "shopify")]
PER_CALL_DELAY = 0.05  # seconds each fake call is held, so the sync cannot finish first


@pytest.mark.parametrize("source", KILLED, ids=[s.name for s in KILLED])
def test_killed_sync_resumes_to_the_clean_result(
    source: Source,
    shell: Shell,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = source.start(request, tmp_path)
    workspace = shell.create_owner(currency=source.currency, timezone=source.timezone)
    connection = source.connect(shell, fake, workspace)
    expected = source.expected(fake)

    fake.hang_next(1_000_000, PER_CALL_DELAY)
    proc = shell.spawn("sync", "--connection", str(connection))
    try:
        deadline = time.monotonic() + 60
        while shell.scalar(f"SELECT count(*) FROM {source.table}") == 0:
            assert proc.poll() is None, shell.path.with_suffix(".stderr").read_text()
            assert time.monotonic() < deadline, "no chunk committed within 60 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    partial = shell.scalar(f"SELECT count(*) FROM {source.table}")
    assert 0 < partial < len(expected)  # killed mid-sync, after at least one chunk
    assert shell.last_run(connection)[0] == "running"  # nobody got to record the end

    fake.hang_next(0)
    source.load(shell, fake, connection)
    resumed = values(source.stored(shell, connection))
    assert resumed == expected
    statuses = [s for (s,) in shell.rows("SELECT status FROM sync_runs ORDER BY id")]
    assert statuses == ["failed", "succeeded"]  # the killed run is recorded as interrupted

    # A clean run of the same account on a fresh database leaves the same rows.
    clean = Shell(tmp_path / "clean.db", monkeypatch)
    workspace = clean.create_owner(currency=source.currency, timezone=source.timezone)
    clean_connection = source.connect(clean, fake, workspace)
    source.load(clean, fake, clean_connection)
    assert values(source.stored(clean, clean_connection)) == resumed
