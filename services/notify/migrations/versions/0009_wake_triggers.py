"""Inserted webhook deliveries and mails wake the worker's jobs (NOTIFY at commit), which
otherwise sleep until their next due row instead of polling every half second.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from parley_common.wake import create_wake_trigger, drop_wake_trigger

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# parley_notify.jobs.WEBHOOK_CHANNEL and MAIL_CHANNEL, as of this revision.
TRIGGERS = {
    "webhook_deliveries": "parley_notify_webhook",
    "mail_notifications": "parley_notify_mail",
}


def upgrade() -> None:
    for table, channel in TRIGGERS.items():
        create_wake_trigger(op, "notify", table, channel)


def downgrade() -> None:
    for table in TRIGGERS:
        drop_wake_trigger(op, "notify", table)
