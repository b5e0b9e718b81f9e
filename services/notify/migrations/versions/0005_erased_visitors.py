"""GDPR erasure tombstones: the visitors notify erased (its consumers skip later events
about them).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from parley_common.events.outbox import create_erased_visitors_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_erased_visitors_table(op, "notify")


def downgrade() -> None:
    op.drop_table("erased_visitors", schema="notify")
