"""Reply delivery: an agent's (or bot's) e-mail or Messenger message is sent by the worker after
commit; ``delivery`` says how that went ({"status": "pending" | "sent" | "failed", "code",
"detail"}), NULL for a message nothing sends.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE chat.messages ADD COLUMN delivery JSONB")


def downgrade() -> None:
    op.execute("ALTER TABLE chat.messages DROP COLUMN delivery")
