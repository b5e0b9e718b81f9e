"""GDPR erasures and their progress per service.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("visitor_id", sa.Uuid, nullable=False),
        sa.Column("services", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_erasures"),
        schema="visitors",
    )
    op.create_index("ix_erasures_account_id", "erasures", ["account_id"], schema="visitors")


def downgrade() -> None:
    op.drop_table("erasures", schema="visitors")
