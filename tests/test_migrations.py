"""Migrations run from empty on both engines and agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from metricx.db import Database
from metricx.migrate import current_revision, head_revision
from metricx.models import Base


async def test_migrations_reach_head(db: Database) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    assert await current_revision(url) == head_revision(url)


async def test_models_and_migrations_agree(db: Database) -> None:
    def _diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == [], f"models and migrations differ on {db.dialect}: {diff}"


def test_every_index_names_the_query_it_serves() -> None:
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            assert index.info.get("serves"), f"index {index.name} has no 'serves' note"
            assert len(index.name or "") <= 63, f"index name too long for PostgreSQL: {index.name}"
