"""App Store subscriptions (original transaction → account) and received notifications.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "auth"


def upgrade() -> None:
    op.create_table(
        "app_store_subscriptions",
        sa.Column("original_transaction_id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("product_id", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("auto_renew", sa.Boolean),
        sa.Column("last_transaction_id", sa.String(64), nullable=False),
        sa.Column("last_signed_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("original_transaction_id", name="pk_app_store_subscriptions"),
        sa.ForeignKeyConstraint(["account_id"], [f"{S}.accounts.id"], ondelete="CASCADE",
                                name="fk_app_store_subscriptions_account_id_accounts"),
        schema=S,
    )
    op.create_index("ix_app_store_subscriptions_account_id", "app_store_subscriptions",
                    ["account_id"], schema=S)
    op.create_table(
        "app_store_notifications",
        sa.Column("notification_uuid", sa.Uuid, nullable=False),
        sa.Column("notification_type", sa.String(50), nullable=False),
        sa.Column("subtype", sa.String(50)),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original_transaction_id", sa.String(64)),
        sa.Column("account_id", sa.Uuid),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("notification_uuid", name="pk_app_store_notifications"),
        schema=S,
    )
    op.create_index("ix_app_store_notifications_original_transaction_id",
                    "app_store_notifications", ["original_transaction_id"], schema=S)
    op.create_index("ix_app_store_notifications_account_id", "app_store_notifications",
                    ["account_id"], schema=S)


def downgrade() -> None:
    op.drop_table("app_store_notifications", schema=S)
    op.drop_table("app_store_subscriptions", schema=S)
