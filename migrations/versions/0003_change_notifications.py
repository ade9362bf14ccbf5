"""notify API processes of changes to credentials, memberships and workspaces

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 18:40:00

Every API process keeps the AuthContexts it resolved (credential, role, workspace settings
and data_version) and drops them when PostgreSQL tells it, through LISTEN metricx_changes,
that a row behind them changed. Triggers rather than application code send the
notifications so that no writer (API, worker, CLI, psql) can forget to; PostgreSQL delivers
them only when the writing transaction commits. SQLite has no such channel, and there the
edge does not cache.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "metricx_changes"

# table -> (payload prefix, column naming what to forget)
WATCHED = {
    "workspaces": ("w", "id"),
    "memberships": ("u", "user_id"),
    "users": ("u", "id"),
    "auth_sessions": ("u", "user_id"),
    "api_tokens": ("u", "user_id"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (prefix, column) in WATCHED.items():
        function = f"metricx_notify_{table}"
        op.execute(
            f"""
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP <> 'INSERT' THEN
                PERFORM pg_notify('{CHANNEL}', '{prefix}:' || OLD.{column});
              END IF;
              IF TG_OP <> 'DELETE' THEN
                PERFORM pg_notify('{CHANNEL}', '{prefix}:' || NEW.{column});
              END IF;
              RETURN NULL;
            END $$
            """
        )
        # Inserts of sessions, tokens and users change nothing anyone has cached.
        events = "INSERT OR UPDATE OR DELETE" if table == "memberships" else "UPDATE OR DELETE"
        op.execute(
            f"CREATE TRIGGER {function} AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in WATCHED:
        function = f"metricx_notify_{table}"
        op.execute(f"DROP TRIGGER IF EXISTS {function} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
