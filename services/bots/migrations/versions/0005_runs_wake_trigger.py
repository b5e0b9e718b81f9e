"""A scheduled bot run wakes the worker's sweeper (NOTIFY at commit), which otherwise sleeps
until the next run is due instead of polling every second.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from parley_common.wake import create_wake_trigger, drop_wake_trigger

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# parley_bots.jobs.RUNS_CHANNEL, as of this revision.
CHANNEL = "parley_bots_runs"


def upgrade() -> None:
    create_wake_trigger(op, "bots", "bot_runs", CHANNEL)


def downgrade() -> None:
    drop_wake_trigger(op, "bots", "bot_runs")
