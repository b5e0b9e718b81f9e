"""The visitors schema's outbox and processed-events tables.

Revision ID: 0001
Revises:
"""

from alembic import op

from parley_common.events.outbox import create_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables(op, "visitors")


def downgrade() -> None:
    op.execute("DROP SCHEMA visitors CASCADE")
