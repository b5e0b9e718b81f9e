"""Visitors, page views, and the projections (accounts, agent statuses, open conversations).

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

S = "visitors"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else sa.func.now())


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.Uuid, primary_key=True),
        sa.Column("widget_key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("settings", JSONB, nullable=False),
        _ts("updated_at"),
        sa.UniqueConstraint("widget_key", name="uq_accounts_widget_key"),
        schema=S,
    )
    op.create_table(
        "agent_statuses",
        sa.Column("account_id", sa.Uuid, primary_key=True),
        sa.Column("agent_id", sa.Uuid, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        schema=S,
    )
    op.create_table(
        "open_conversations",
        sa.Column("conversation_id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("visitor_id", sa.Uuid, nullable=False),
        schema=S,
    )
    op.create_index("ix_open_conversations_visitor", "open_conversations",
                    ["account_id", "visitor_id"], schema=S)
    op.create_table(
        "visitors",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(40)),
        sa.Column("note", sa.Text),
        sa.Column("custom", JSONB, nullable=False),
        sa.Column("visits", sa.Integer, nullable=False),
        _ts("first_seen_at"),
        _ts("last_seen_at"),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("browser", sa.String(100)),
        sa.Column("os", sa.String(100)),
        sa.Column("device_type", sa.String(20)),
        sa.Column("country", sa.String(2)),
        sa.Column("referrer", sa.String(2048)),
        sa.Column("utm", JSONB, nullable=False),
        sa.Column("last_url", sa.String(2048)),
        sa.Column("last_title", sa.String(500)),
        _ts("blocked_at", nullable=True),
        schema=S,
    )
    op.create_index("ix_visitors_account_last_seen", "visitors",
                    ["account_id", "last_seen_at", "id"], schema=S)
    op.create_table(
        "page_views",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("visitor_id", sa.Uuid,
                  sa.ForeignKey(f"{S}.visitors.id", ondelete="CASCADE",
                                name="fk_page_views_visitor_id_visitors"),
                  nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        _ts("viewed_at"),
        sa.Column("duration_seconds", sa.Integer),
        schema=S,
    )
    op.create_index("ix_page_views_visitor", "page_views",
                    ["account_id", "visitor_id", "viewed_at", "id"], schema=S)


def downgrade() -> None:
    for table in ("page_views", "visitors", "open_conversations", "agent_statuses", "accounts"):
        op.drop_table(table, schema=S)
