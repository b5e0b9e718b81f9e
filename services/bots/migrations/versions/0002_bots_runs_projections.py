"""Bots (automatic messages and chatbots), their runs, and the plan and visitor projections.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "bots"


def _ts(name: str, nullable: bool = True, default: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def upgrade() -> None:
    op.create_table(
        "account_plans",
        sa.Column("account_id", sa.Uuid, primary_key=True),
        sa.Column("plan", sa.String(40), nullable=False),
        sa.Column("max_active_chatbots", sa.Integer),
        _ts("updated_at", nullable=False, default=True),
        schema=S,
    )
    op.create_table(
        "bots",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("trigger", JSONB, nullable=False),
        sa.Column("conditions", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("delay_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message", sa.Text),
        sa.Column("steps", JSONB),
        sa.Column("handover_message", sa.Text),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
        sa.CheckConstraint("kind IN ('automatic_message', 'chatbot')", name="kind"),
        schema=S,
    )
    op.create_index("ix_bots_account_kind_created", "bots",
                    ["account_id", "kind", sa.text("created_at DESC"), sa.text("id DESC")],
                    schema=S)
    op.create_table(
        "visitor_states",
        sa.Column("account_id", sa.Uuid, primary_key=True),
        sa.Column("visitor_id", sa.Uuid, primary_key=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("url", sa.Text),
        sa.Column("returning", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("visits", sa.Integer, nullable=False, server_default="1"),
        sa.Column("agent_chatting", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("conversation_id", sa.Uuid),
        _ts("updated_at", nullable=False, default=True),
        schema=S,
    )
    op.create_table(
        "bot_runs",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("bot_id", sa.Uuid,
                  sa.ForeignKey(f"{S}.bots.id", ondelete="CASCADE",
                                name="fk_bot_runs_bot_id_bots"), nullable=False),
        sa.Column("visitor_id", sa.Uuid, nullable=False),
        sa.Column("conversation_id", sa.Uuid),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("current_step_id", sa.String(40)),
        _ts("due_at", nullable=False),
        _ts("triggered_at"),
        _ts("replied_at"),
        _ts("converted_at"),
        _ts("finished_at"),
        _ts("created_at", nullable=False, default=True),
        sa.UniqueConstraint("bot_id", "visitor_id", name="uq_bot_runs_bot_id"),
        schema=S,
    )
    op.create_index("ix_bot_runs_due", "bot_runs", ["due_at"], schema=S,
                    postgresql_where=sa.text("status = 'scheduled'"))
    op.create_index("ix_bot_runs_visitor", "bot_runs", ["account_id", "visitor_id", "status"],
                    schema=S)
    op.create_index("ix_bot_runs_triggered", "bot_runs", ["account_id", "triggered_at"],
                    schema=S)


def downgrade() -> None:
    for table in ("bot_runs", "visitor_states", "bots", "account_plans"):
        op.drop_table(table, schema=S)
