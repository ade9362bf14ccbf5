"""entity summaries for the preset windows and daily order rollups

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "entity_summaries",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("entity_id", BigId, nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("spend_micros", sa.BigInteger(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.Float(), nullable=False),
        sa.Column("revenue_micros", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["entities.id"],
            name=op.f("fk_entity_summaries_entity_id_entities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_entity_summaries_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "start_date",
            "end_date",
            "grain",
            "entity_id",
            name=op.f("pk_entity_summaries"),
        ),
    )
    op.create_index(
        op.f("ix_entity_summaries_entity_id"), "entity_summaries", ["entity_id"], unique=False
    )
    op.add_column("workspaces", sa.Column("summary_end", sa.Date(), nullable=True))
    op.create_table(
        "daily_order_rollups",
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("revenue_micros", sa.BigInteger(), nullable=False),
        sa.Column("cogs_micros", sa.BigInteger(), nullable=False),
        sa.Column("order_rows", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_daily_order_rollups_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "order_date", name=op.f("pk_daily_order_rollups")),
    )
    # Existing orders get their rollups here; later writes keep them in step.
    op.execute(
        """
        INSERT INTO daily_order_rollups
            (workspace_id, order_date, orders, revenue_micros, cogs_micros, order_rows)
        SELECT workspace_id, order_date,
            SUM(CASE WHEN cancelled_at IS NULL AND is_test = false
                     AND financial_status <> 'voided' THEN 1 ELSE 0 END),
            SUM(CASE WHEN cancelled_at IS NULL AND is_test = false
                     AND financial_status <> 'voided'
                     THEN total_micros - refunded_micros ELSE 0 END),
            SUM(CASE WHEN cancelled_at IS NULL AND is_test = false
                     AND financial_status <> 'voided' THEN cogs_micros ELSE 0 END),
            COUNT(*)
        FROM shopify_orders GROUP BY workspace_id, order_date
        """
    )


def downgrade() -> None:
    op.drop_table("daily_order_rollups")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("summary_end")
    op.drop_index(op.f("ix_entity_summaries_entity_id"), table_name="entity_summaries")
    op.drop_table("entity_summaries")
