"""Webhook secrets are sealed at rest (parley_common.sealed): longer than 80 characters.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("webhooks", "secret", type_=sa.Text, schema="notify")


def downgrade() -> None:
    op.alter_column("webhooks", "secret", type_=sa.String(80), schema="notify")
