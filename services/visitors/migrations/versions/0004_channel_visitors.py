"""Visitors from other channels (Messenger): channel, profile picture, Facebook identity.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE visitors.visitors ADD COLUMN channel VARCHAR(20) DEFAULT 'web' NOT NULL, "
        "ADD COLUMN avatar_url VARCHAR(2048), ADD COLUMN facebook JSONB"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE visitors.visitors DROP COLUMN channel, DROP COLUMN avatar_url, "
        "DROP COLUMN facebook"
    )
