"""Accounts, subscriptions, agents, login sessions, refresh tokens, invitations, bug reports.

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

S = "auth"


def _ts(name: str, nullable: bool = True, now: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if now else None)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("widget_key", sa.String(64), nullable=False),
        sa.Column("general", JSONB, nullable=False),
        sa.Column("design", JSONB, nullable=False),
        sa.Column("contact_form", JSONB, nullable=False),
        _ts("created_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("widget_key", name="uq_accounts_widget_key"),
        schema=S,
    )
    op.create_table(
        "subscriptions",
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("plan", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("expires_at"),
        sa.Column("source", sa.String(40), nullable=False),
        _ts("updated_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("account_id", name="pk_subscriptions"),
        sa.ForeignKeyConstraint(["account_id"], [f"{S}.accounts.id"], ondelete="CASCADE",
                                name="fk_subscriptions_account_id_accounts"),
        schema=S,
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("avatar_url", sa.String(2048)),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("last_seen_at"),
        _ts("created_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.UniqueConstraint("email", name="uq_agents_email"),
        sa.ForeignKeyConstraint(["account_id"], [f"{S}.accounts.id"], ondelete="CASCADE",
                                name="fk_agents_account_id_accounts"),
        schema=S,
    )
    op.create_index("ix_agents_account_id", "agents", ["account_id"], schema=S)
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("agent_id", sa.Uuid, nullable=False),
        _ts("created_at", nullable=False, now=True),
        _ts("revoked_at"),
        sa.Column("revoked_reason", sa.String(40)),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.ForeignKeyConstraint(["agent_id"], [f"{S}.agents.id"], ondelete="CASCADE",
                                name="fk_sessions_agent_id_agents"),
        schema=S,
    )
    op.create_index("ix_sessions_account_id", "sessions", ["account_id"], schema=S)
    op.create_index("ix_sessions_agent_id", "sessions", ["agent_id"], schema=S)
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        _ts("created_at", nullable=False, now=True),
        _ts("expires_at", nullable=False),
        _ts("rotated_at"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_refresh_tokens"),
        sa.ForeignKeyConstraint(["session_id"], [f"{S}.sessions.id"], ondelete="CASCADE",
                                name="fk_refresh_tokens_session_id_sessions"),
        schema=S,
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"], schema=S)
    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.Uuid),
        _ts("created_at", nullable=False, now=True),
        _ts("expires_at", nullable=False),
        _ts("accepted_at"),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
        sa.ForeignKeyConstraint(["account_id"], [f"{S}.accounts.id"], ondelete="CASCADE",
                                name="fk_invitations_account_id_accounts"),
        schema=S,
    )
    op.create_index("ix_invitations_account_id", "invitations", ["account_id"], schema=S)
    op.create_index("ix_invitations_account_email", "invitations", ["account_id", "email"],
                    schema=S)
    op.create_table(
        "bug_reports",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("agent_id", sa.Uuid, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("app_version", sa.String(50)),
        sa.Column("device", sa.String(200)),
        sa.Column("logs", sa.Text),
        _ts("created_at", nullable=False, now=True),
        _ts("emailed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_bug_reports"),
        schema=S,
    )
    op.create_index("ix_bug_reports_account_id", "bug_reports", ["account_id"], schema=S)


def downgrade() -> None:
    for table in ("bug_reports", "invitations", "refresh_tokens", "sessions", "agents",
                  "subscriptions", "accounts"):
        op.drop_table(table, schema=S)
