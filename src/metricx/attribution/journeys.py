"""Journeys and touchpoints built from stored pixel events (run by the attribution job).

Ingest only stores events (one INSERT per batch, to stay fast); this step turns them into
one journey per (workspace, visitor) and one touchpoint per event that marks an arrival:
an event with UTMs or a click id, a page view from another site, or a page view with no
referrer (a direct visit). Same-site navigation is not an arrival. Touchpoints are keyed
by pixel event id, so re-running inserts nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.attribution import channels
from metricx.models import Entity, Journey, PixelEvent, Touchpoint

LEVEL_RANK = {"ad": 0, "creative": 1, "adset": 2, "campaign": 3, "account": 4}
AD_PROVIDERS = ("meta", "google", "tiktok")
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Source:
    """The marketing facts of one arrival (a pixel event or an order's landing site)."""

    utm: dict[str, str]
    clicks: dict[str, str]
    ids: list[str]
    referrer: str | None
    site_host: str


@dataclass(frozen=True, slots=True)
class Resolved:
    """Channel, entity and evidence of one arrival."""

    channel: str
    entity_id: int | None
    confidence: str
    match_type: str
    click_id: str | None


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_of(session: AsyncSession) -> str:
    """'postgresql' or 'sqlite' for the session's bind."""
    return session.get_bind().dialect.name


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert


def candidate_ids(source: Source) -> list[str]:
    """Values that may be an entity's external id, most specific first."""
    values = [*source.ids]
    for key in ("utm_content", "utm_term", "utm_campaign"):
        if source.utm.get(key):
            values.append(source.utm[key])
    return values


async def entity_index(
    session: AsyncSession, workspace_id: int, values: set[str]
) -> dict[str, tuple[int, str, str]]:
    """external_id -> (entity id, level, provider), this workspace only, most specific level."""
    found: dict[str, tuple[int, str, str]] = {}
    for chunk in _chunks(sorted(values)):
        rows = await session.execute(
            select(Entity.id, Entity.external_id, Entity.level, Entity.provider).where(
                Entity.workspace_id == workspace_id, Entity.external_id.in_(chunk)
            )
        )
        for entity_id, external_id, level, provider in rows.all():
            best = found.get(external_id)
            if best is None or LEVEL_RANK.get(level, 9) < LEVEL_RANK.get(best[1], 9):
                found[external_id] = (entity_id, level, provider)
    return found


def resolve(source: Source, entities: dict[str, tuple[int, str, str]]) -> Resolved:
    """Channel and entity of one arrival; an entity match names the platform."""
    channel = channels.classify(
        utm_source=source.utm.get("utm_source"),
        utm_medium=source.utm.get("utm_medium"),
        fbclid=source.clicks.get("fbclid"),
        gclid=source.clicks.get("gclid"),
        ttclid=source.clicks.get("ttclid"),
        referrer=source.referrer,
        site_host=source.site_host,
    )
    entity = next((entities[v] for v in candidate_ids(source) if v in entities), None)
    if entity is not None and entity[2] in AD_PROVIDERS and channel not in AD_PROVIDERS:
        channel = entity[2]
    click_key = next(iter(source.clicks), None)
    has_utm = bool(source.utm.get("utm_source") or source.utm.get("utm_campaign"))
    return Resolved(
        channel=channel,
        entity_id=entity[0] if entity else None,
        confidence=channels.confidence(
            has_click_id=click_key is not None,
            entity_exact=entity is not None,
            has_utm=has_utm,
            channel=channel,
        ),
        match_type=channels.match_type(
            click_key=click_key, entity_exact=entity is not None, has_utm=has_utm, channel=channel
        ),
        click_id=source.clicks[click_key][:255] if click_key else None,
    )


def event_source(row: Any) -> Source | None:
    """The arrival an event marks, or None for same-site navigation and on-site actions."""
    utm = {k: getattr(row, k) for k in channels.UTM_KEYS if getattr(row, k)}
    clicks = {k: getattr(row, k) for k in channels.CLICK_KEYS if getattr(row, k)}
    landing = channels.parse_landing(row.url)
    site = channels.host_of(row.url)
    referrer_host = channels.host_of(row.referrer)
    external = bool(referrer_host) and referrer_host != site
    on_site = row.event_name != "page_viewed" or (referrer_host and not external)
    if not (utm or clicks or landing.ids) and on_site:
        return None
    return Source(utm, clicks, landing.ids, row.referrer, site)


async def build_journeys(
    session: AsyncSession, workspace_id: int, since: datetime | None = None
) -> int:
    """Create or extend journeys and add touchpoints for new events; returns touches added."""
    stmt = select(
        PixelEvent.id,
        PixelEvent.visitor_id,
        PixelEvent.event_name,
        PixelEvent.occurred_at,
        PixelEvent.url,
        PixelEvent.referrer,
        *(getattr(PixelEvent, k) for k in (*channels.UTM_KEYS, *channels.CLICK_KEYS)),
    ).where(
        PixelEvent.workspace_id == workspace_id,
        ~exists().where(Touchpoint.pixel_event_id == PixelEvent.id),
        or_(
            PixelEvent.event_name == "page_viewed",
            PixelEvent.utm_source.is_not(None),
            PixelEvent.utm_campaign.is_not(None),
            PixelEvent.fbclid.is_not(None),
            PixelEvent.gclid.is_not(None),
            PixelEvent.ttclid.is_not(None),
        ),
    )
    if since is not None:
        stmt = stmt.where(PixelEvent.received_at >= since)
    events = (await session.execute(stmt)).all()
    arrivals = [(row, src) for row in events if (src := event_source(row)) is not None]
    if not arrivals:
        return 0
    journey_ids = await upsert_journeys(session, workspace_id, {r.visitor_id for r, _ in arrivals})
    values = {v for _, src in arrivals for v in candidate_ids(src)}
    entities = await entity_index(session, workspace_id, values) if values else {}
    rows = []
    for row, src in arrivals:
        found = resolve(src, entities)
        rows.append(
            {
                "workspace_id": workspace_id,
                "journey_id": journey_ids[row.visitor_id],
                "pixel_event_id": row.id,
                "occurred_at": row.occurred_at,
                "channel": found.channel,
                "entity_id": found.entity_id,
                "match_type": found.match_type,
                "confidence": found.confidence,
                "utm_source": src.utm.get("utm_source"),
                "utm_medium": src.utm.get("utm_medium"),
                "utm_campaign": src.utm.get("utm_campaign"),
                "utm_content": src.utm.get("utm_content"),
                "click_id": found.click_id,
                "referrer": row.referrer,
                "landing_page": row.url,
            }
        )
    insert = _insert(session)
    for chunk in _chunks(rows):
        await session.execute(
            insert(Touchpoint)
            .values(list(chunk))
            .on_conflict_do_nothing(index_elements=["pixel_event_id"])
        )
    return len(rows)


async def upsert_journeys(
    session: AsyncSession, workspace_id: int, visitors: set[str]
) -> dict[str, int]:
    """One journey per visitor, spanning all of the visitor's events; {visitor: journey id}."""
    ids: dict[str, int] = {}
    insert = _insert(session)
    for chunk in _chunks(sorted(visitors)):
        spans = (
            await session.execute(
                select(
                    PixelEvent.visitor_id,
                    func.min(PixelEvent.occurred_at),
                    func.max(PixelEvent.occurred_at),
                )
                .where(PixelEvent.workspace_id == workspace_id, PixelEvent.visitor_id.in_(chunk))
                .group_by(PixelEvent.visitor_id)
            )
        ).all()
        values = [
            {
                "workspace_id": workspace_id,
                "visitor_id": visitor,
                "first_seen_at": as_utc(first),
                "last_seen_at": as_utc(last),
            }
            for visitor, first, last in spans
        ]
        if not values:
            continue
        stmt = insert(Journey).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace_id", "visitor_id"],
            set_={
                "first_seen_at": stmt.excluded.first_seen_at,
                "last_seen_at": stmt.excluded.last_seen_at,
            },
        ).returning(Journey.id, Journey.visitor_id)
        for journey_id, visitor in (await session.execute(stmt)).all():
            ids[visitor] = journey_id
    return ids


def as_utc(value: Any) -> datetime:
    """min()/max() bypass the column type on SQLite and come back as text."""
    from metricx.models.base import UTCDateTime

    if isinstance(value, datetime):
        return UTCDateTime().process_result_value(value, None)  # type: ignore[return-value]
    parsed = datetime.fromisoformat(str(value))
    return UTCDateTime().process_result_value(parsed, None)  # type: ignore[return-value]
