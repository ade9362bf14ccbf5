"""CSV import into a CSV connection: parse off the event loop, then write all or nothing."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.connections.schemas import ImportOut
from metricx.connections.service import get_connection
from metricx.connectors.csv import CsvFact, CsvInvalid, parse_ad_csv
from metricx.errors import Conflict
from metricx.models import Connection, SyncRun, utcnow
from metricx.sync.fx import FxConverter, MissingFxRate
from metricx.sync.writer import FactRow, upsert_entities, upsert_facts
from metricx.tenancy import AuthContext


async def import_csv(
    session: AsyncSession, ctx: AuthContext, connection_id: int, data: bytes
) -> ImportOut:
    """Validate the whole file, then upsert its entities and facts in the caller's transaction.

    Any invalid row (or a missing exchange rate) raises before anything is written, and the
    edge rolls the transaction back; importing the same file twice leaves the same data.
    """
    ctx.require("admin")
    conn = await get_connection(session, ctx, connection_id)
    if conn.provider != "csv":
        raise Conflict("Files can only be imported into a CSV connection.")
    started = utcnow()
    parsed = await asyncio.to_thread(parse_ad_csv, data, default_currency=conn.currency)
    rows_by_platform = await _convert(session, ctx.currency, parsed.facts)
    entity_count = 0
    facts_written = 0
    for platform, entities in parsed.entities.items():
        ids = await upsert_entities(
            session,
            workspace_id=ctx.workspace_id,
            connection_id=conn.id,
            provider=platform,
            rows=entities,
        )
        entity_count += len(entities)
        rows = [
            FactRow(entity_id=ids[(f.level, f.external_id)], **kw)
            for f, kw in rows_by_platform.get(platform, [])
        ]
        facts_written += await upsert_facts(
            session,
            workspace_id=ctx.workspace_id,
            connection_id=conn.id,
            provider=platform,
            rows=rows,
        )
    days = [f.event_date for f in parsed.facts]
    counters: dict[str, Any] = {
        "rows": len(parsed.facts),
        "facts_written": facts_written,
        "entities": entity_count,
        "platforms": sorted(parsed.entities),
        "ignored_columns": parsed.ignored_columns,
        "start": min(days).isoformat(),
        "end": max(days).isoformat(),
    }
    run = SyncRun(
        workspace_id=ctx.workspace_id,
        connection_id=conn.id,
        kind="import",
        status="succeeded",
        started_at=started,
        finished_at=utcnow(),
        rows_written=facts_written,
        counters=counters,
    )
    session.add(run)
    _mark_imported(conn)
    await session.flush()
    return ImportOut(
        run_id=run.id,
        rows=len(parsed.facts),
        facts_written=facts_written,
        entities=entity_count,
        start=counters["start"],
        end=counters["end"],
    )


async def _convert(
    session: AsyncSession, target: str, facts: list[CsvFact]
) -> dict[str, list[tuple[CsvFact, dict[str, Any]]]]:
    """Facts in workspace currency (originals kept), grouped by platform."""
    by_currency: dict[str, list[CsvFact]] = defaultdict(list)
    for f in facts:
        by_currency[f.currency].append(f)
    out: dict[str, list[tuple[CsvFact, dict[str, Any]]]] = defaultdict(list)
    for currency, group in by_currency.items():
        days = [f.event_date for f in group]
        fx = await FxConverter.load(session, currency, target, min(days), max(days))
        converted = currency != target
        for f in group:
            try:
                spend = fx.convert(f.spend_micros, f.event_date)
                revenue = fx.convert(f.revenue_micros, f.event_date)
            except MissingFxRate as exc:
                raise CsvInvalid(
                    [{"line": f.line, "column": "currency", "message": str(exc)}], 1
                ) from exc
            out[f.platform].append(
                (
                    f,
                    {
                        "event_date": f.event_date,
                        "spend_micros": spend,
                        "revenue_micros": revenue,
                        "impressions": f.impressions,
                        "clicks": f.clicks,
                        "conversions": f.conversions,
                        "original_currency": currency if converted else None,
                        "original_spend_micros": f.spend_micros if converted else None,
                        "original_revenue_micros": f.revenue_micros if converted else None,
                    },
                )
            )
    return out


def _mark_imported(conn: Connection) -> None:
    now = utcnow()
    conn.last_sync_started_at = conn.last_sync_finished_at = conn.last_success_at = now
    conn.last_error = None
    if conn.status != "paused":
        conn.status = "active"
