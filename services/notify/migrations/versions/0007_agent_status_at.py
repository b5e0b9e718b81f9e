"""When each projected agent status was true (the event's occurred_at): a stale event handled
after a newer one (consumer batches run concurrently) must not overwrite it.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "agents", sa.Column("status_at", sa.DateTime(timezone=True), nullable=True), schema="notify"
    )


def downgrade() -> None:
    op.drop_column("agents", "status_at", schema="notify")
