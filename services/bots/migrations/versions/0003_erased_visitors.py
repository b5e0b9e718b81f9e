"""GDPR erasure tombstones: the visitors bots erased (its consumers skip later events
about them).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from parley_common.events.outbox import create_erased_visitors_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_erased_visitors_table(op, "bots")


def downgrade() -> None:
    op.drop_table("erased_visitors", schema="bots")
