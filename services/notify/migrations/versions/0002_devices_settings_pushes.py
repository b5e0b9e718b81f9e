"""Devices, notification settings, projections, pushes, deliveries and e-mail notifications.

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

S = "notify"
PUSH_CHANNEL = "parley_notify_push"


def _ts(name: str, nullable: bool = True, default: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("role", sa.String(20)),
        sa.Column("status", sa.String(20)),
        schema=S,
    )
    op.create_index("ix_agents_account_id", "agents", ["account_id"], schema=S)

    op.create_table(
        "notification_settings",
        sa.Column("agent_id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        *(sa.Column(name, sa.Boolean, nullable=False, server_default=sa.true())
          for name in ("new_message", "new_visitor", "offline_notifications", "sound",
                       "email_notifications")),
        _ts("updated_at", nullable=False, default=True),
        schema=S,
    )
    op.create_index("ix_notification_settings_account_id", "notification_settings",
                    ["account_id"], schema=S)

    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("agent_id", sa.Uuid, nullable=False),
        sa.Column("session_id", sa.Uuid),
        sa.Column("token", sa.String(200), nullable=False, unique=True),
        sa.Column("platform", sa.String(10), nullable=False),
        sa.Column("environment", sa.String(12), nullable=False),
        sa.Column("bundle_id", sa.String(200)),
        sa.Column("locale", sa.String(35)),
        _ts("created_at", nullable=False, default=True),
        _ts("registered_at", nullable=False, default=True),
        schema=S,
    )
    op.create_index("ix_devices_account_id", "devices", ["account_id"], schema=S)
    op.create_index("ix_devices_agent_id", "devices", ["agent_id"], schema=S)
    op.create_index("ix_devices_session_id", "devices", ["session_id"], schema=S)

    op.create_table(
        "conversations",
        sa.Column("conversation_id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("visitor_id", sa.Uuid),
        sa.Column("visitor_name", sa.String(200)),
        sa.Column("assignee_id", sa.Uuid),
        sa.Column("status", sa.String(20), nullable=False, server_default="open"),
        sa.Column("channel", sa.String(30)),
        _ts("last_visitor_message_at"),
        sa.Column("last_visitor_text", sa.Text),
        _ts("awaiting_reply_since"),
        _ts("missed_mail_sent_at"),
        _ts("read_at"),
        sa.Column("marked_unread", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=S,
    )
    op.create_index("ix_conversations_account_id", "conversations", ["account_id"], schema=S)
    op.create_index("ix_conversations_awaiting", "conversations", ["awaiting_reply_since"],
                    schema=S, postgresql_where=sa.text(
                        "awaiting_reply_since IS NOT NULL AND missed_mail_sent_at IS NULL"))

    op.create_table(
        "conversation_reads",
        sa.Column("conversation_id", sa.Uuid,
                  sa.ForeignKey(f"{S}.conversations.conversation_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("agent_id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        _ts("read_at"),
        sa.Column("marked_unread", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=S,
    )

    op.create_table(
        "visitors",
        sa.Column("visitor_id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("label", sa.String(200)),
        schema=S,
    )
    op.create_index("ix_visitors_account_id", "visitors", ["account_id"], schema=S)

    op.create_table(
        "visitor_bursts",
        sa.Column("account_id", sa.Uuid, primary_key=True),
        _ts("opened_at", nullable=False),
        sa.Column("count", sa.Integer, nullable=False, server_default="1"),
        schema=S,
    )

    op.create_table(
        "pushes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("device_id", sa.Uuid, nullable=False),
        sa.Column("agent_id", sa.Uuid, nullable=False),
        sa.Column("token", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(12), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("collapse_id", sa.String(64)),
        sa.Column("priority", sa.Integer, nullable=False, server_default="10"),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reason", sa.String(100)),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
        sa.UniqueConstraint("event_id", "device_id", name="uq_pushes_event_device"),
        schema=S,
    )
    op.create_index("ix_pushes_account_id", "pushes", ["account_id"], schema=S)
    op.create_index("ix_pushes_pending", "pushes", ["created_at"], schema=S,
                    postgresql_where=sa.text("status = 'pending'"))
    op.execute(f"""
        CREATE FUNCTION {S}.push_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('{PUSH_CHANNEL}', ''); RETURN NULL; END $$;
    """)
    op.execute(f"""
        CREATE TRIGGER push_notify AFTER INSERT ON {S}.pushes
        FOR EACH STATEMENT EXECUTE FUNCTION {S}.push_notify();
    """)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("push_id", sa.Uuid, sa.ForeignKey(f"{S}.pushes.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("apns_id", sa.String(36), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(100)),
        sa.Column("apns_timestamp", sa.BigInteger),
        _ts("created_at", nullable=False, default=True),
        schema=S,
    )
    op.create_index("ix_deliveries_push_id", "deliveries", ["push_id"], schema=S)
    op.create_index("ix_deliveries_account_id", "deliveries", ["account_id"], schema=S)

    op.create_table(
        "mail_notifications",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("agent_id", sa.Uuid, nullable=False),
        sa.Column("dedupe_key", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _ts("created_at", nullable=False, default=True),
        _ts("sent_at"),
        sa.UniqueConstraint("dedupe_key", "agent_id", name="uq_mail_notifications_key_agent"),
        schema=S,
    )
    op.create_index("ix_mail_notifications_account_id", "mail_notifications", ["account_id"],
                    schema=S)
    op.create_index("ix_mail_notifications_pending", "mail_notifications", ["created_at"],
                    schema=S, postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    for table in ("mail_notifications", "deliveries", "pushes", "visitor_bursts", "visitors",
                  "conversation_reads", "conversations", "devices", "notification_settings",
                  "agents"):
        op.drop_table(table, schema=S)
    op.execute(f"DROP FUNCTION IF EXISTS {S}.push_notify()")
