"""The outbox's NOTIFY trigger goes: the committing process publishes its events itself and the
relay polls for what is left (parley_common.events.publisher), so no insert wakes the relay.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from parley_common.events.outbox import create_notify_trigger, drop_notify_trigger

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_notify_trigger(op, "notify")


def downgrade() -> None:
    create_notify_trigger(op, "notify")
