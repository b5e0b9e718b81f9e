"""The account's language (from auth's general settings), for e-mails to its agents.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "notify"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.Uuid, primary_key=True),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("accounts", schema=S)
