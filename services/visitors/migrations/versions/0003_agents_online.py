"""accounts.agents_online: whether anyone answers the chat box, kept with the agent statuses so
a change is noticed once (and streamed to the account's chat boxes).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE visitors.accounts ADD COLUMN agents_online BOOLEAN DEFAULT false NOT NULL"
    )
    op.execute(
        """UPDATE visitors.accounts AS a SET agents_online = EXISTS (
            SELECT 1 FROM visitors.agent_statuses AS s
            WHERE s.account_id = a.account_id AND s.status = 'online')"""
    )


def downgrade() -> None:
    op.execute("ALTER TABLE visitors.accounts DROP COLUMN agents_online")
