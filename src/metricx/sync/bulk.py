"""The bulk variant of the fact write path, for loads of millions of rows on PostgreSQL.

Rows are COPYed (binary) into a temporary staging table and merged with one
`INSERT ... SELECT ... ON CONFLICT DO UPDATE` per chunk, so the write stays an idempotent
upsert; rollups and data_version then follow exactly as in `upsert_facts`. When the
connection has no facts yet (a first load), nothing can conflict, so rows are COPYed
straight into metric_facts: that skips the staging write and the speculative inserts,
which were most of PostgreSQL's work per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.models import utcnow
from metricx.sync.writer import refresh_rollups
from metricx.workspaces.repository import bump_data_version

STAGE_COLUMNS = (
    "entity_id",
    "event_date",
    "spend_micros",
    "impressions",
    "clicks",
    "conversions",
    "revenue_micros",
)
_CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS metric_facts_stage (
    entity_id bigint NOT NULL,
    event_date date NOT NULL,
    spend_micros bigint NOT NULL,
    impressions bigint NOT NULL,
    clicks bigint NOT NULL,
    conversions double precision NOT NULL,
    revenue_micros bigint NOT NULL
) ON COMMIT DELETE ROWS
"""
DIRECT_COLUMNS = (
    "entity_id",
    "event_date",
    "workspace_id",
    "connection_id",
    "provider",
    "spend_micros",
    "impressions",
    "clicks",
    "conversions",
    "revenue_micros",
    "updated_at",
)
_MERGE = """
INSERT INTO metric_facts (entity_id, event_date, workspace_id, connection_id, provider,
    spend_micros, impressions, clicks, conversions, revenue_micros, updated_at)
SELECT entity_id, event_date, $1, $2, $3,
    spend_micros, impressions, clicks, conversions, revenue_micros, $4
FROM metric_facts_stage
ON CONFLICT (entity_id, event_date) DO UPDATE SET
    spend_micros = EXCLUDED.spend_micros,
    impressions = EXCLUDED.impressions,
    clicks = EXCLUDED.clicks,
    conversions = EXCLUDED.conversions,
    revenue_micros = EXCLUDED.revenue_micros,
    leads = NULL, purchases = NULL, original_currency = NULL,
    original_spend_micros = NULL, original_revenue_micros = NULL,
    updated_at = EXCLUDED.updated_at
"""


async def _driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the session's transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def bulk_load_facts(
    session: AsyncSession,
    *,
    workspace_id: int,
    connection_id: int,
    provider: str,
    chunks: Iterable[Sequence[tuple[int, date, int, int, int, float, int]]],
    bump: bool = True,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Upsert facts given as STAGE_COLUMNS tuples, chunk by chunk, on PostgreSQL.

    Each (entity_id, event_date) may appear once per call. Afterwards the rollups of the
    touched days are recomputed and data_version is bumped, in the caller's transaction.
    Returns the number of rows written.
    """
    if session.get_bind().dialect.name != "postgresql":
        raise RuntimeError("bulk_load_facts needs PostgreSQL; use upsert_facts elsewhere")
    driver = await _driver_connection(session)
    # Row-lock the connection so two loads of it serialise and the emptiness check holds.
    await driver.execute("SELECT 1 FROM connections WHERE id = $1 FOR UPDATE", connection_id)
    fresh = not await driver.fetchval(
        "SELECT EXISTS (SELECT 1 FROM metric_facts WHERE connection_id = $1)", connection_id
    )
    if not fresh:
        await driver.execute(_CREATE_STAGE)
    written = 0
    first: date | None = None
    last: date | None = None
    now = utcnow()
    for chunk in chunks:
        if not chunk:
            continue
        if fresh:
            head = (workspace_id, connection_id, provider)
            records = [(r[0], r[1], *head, r[2], r[3], r[4], r[5], r[6], now) for r in chunk]
            await driver.copy_records_to_table(
                "metric_facts", records=records, columns=DIRECT_COLUMNS
            )
        else:
            await driver.execute("TRUNCATE metric_facts_stage")
            await driver.copy_records_to_table(
                "metric_facts_stage", records=chunk, columns=STAGE_COLUMNS
            )
            await driver.execute(_MERGE, workspace_id, connection_id, provider, now)
        low = min(row[1] for row in chunk)
        high = max(row[1] for row in chunk)
        first = low if first is None else min(first, low)
        last = high if last is None else max(last, high)
        written += len(chunk)
        if on_chunk is not None:
            on_chunk(len(chunk))
    if first is not None and last is not None:
        await refresh_rollups(
            session, workspace_id=workspace_id, provider=provider, start=first, end=last
        )
        if bump:
            await bump_data_version(session, workspace_id)
    return written


async def relax_durability(session: AsyncSession) -> None:
    """Let this transaction commit without waiting for the WAL flush (bulk loads only).

    A crash can lose the last commits but never corrupts data, and the loads are idempotent,
    so rerunning restores them.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL synchronous_commit = off"))
