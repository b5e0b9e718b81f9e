"""GDPR erasure tombstones: the visitors visitors erased (its consumers skip later events
about them).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from parley_common.events.outbox import create_erased_visitors_table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_erased_visitors_table(op, "visitors")


def downgrade() -> None:
    op.drop_table("erased_visitors", schema="visitors")
