"""Outgoing webhooks: subscriptions, deliveries and every attempt.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "notify"


def _ts(name: str, nullable: bool = False, default: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("events", JSONB, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("secret", sa.String(80), nullable=False),
        sa.Column("disabled_reason", sa.String(40)),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
        schema=S,
    )
    op.create_index("ix_webhooks_account_id", "webhooks", ["account_id"], schema=S)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("webhook_id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _ts("next_attempt_at", nullable=True, default=False),
        _ts("first_attempt_at", nullable=True, default=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(["webhook_id"], ["notify.webhooks.id"], ondelete="CASCADE",
                                name="fk_webhook_deliveries_webhook_id_webhooks"),
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
        schema=S,
    )
    op.create_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries", ["webhook_id"],
                    schema=S)
    op.create_index("ix_webhook_deliveries_next_attempt_at", "webhook_deliveries",
                    ["next_attempt_at"], schema=S)
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("delivery_id", sa.Uuid, nullable=False),
        sa.Column("webhook_id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        _ts("attempted_at", default=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.String(500)),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(["delivery_id"], ["notify.webhook_deliveries.id"],
                                ondelete="CASCADE",
                                name="fk_webhook_attempts_delivery_id_webhook_deliveries"),
        schema=S,
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"],
                    schema=S)
    op.create_index("ix_webhook_attempts_webhook_id", "webhook_attempts", ["webhook_id"],
                    schema=S)


def downgrade() -> None:
    op.drop_table("webhook_attempts", schema=S)
    op.drop_table("webhook_deliveries", schema=S)
    op.drop_table("webhooks", schema=S)
