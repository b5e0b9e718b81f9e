"""Chat tables: projections (accounts, agents, visitors), conversations, messages, read
markers, attachments, shortcuts.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATEMENTS = [
    """CREATE TABLE chat.accounts (
    account_id UUID NOT NULL,
    timezone VARCHAR(64) DEFAULT 'UTC' NOT NULL,
    rating_enabled BOOLEAN DEFAULT 'false' NOT NULL,
    auto_assign BOOLEAN DEFAULT 'false' NOT NULL,
    auto_resolve_minutes INTEGER,
    last_assigned_agent_id UUID,
    CONSTRAINT pk_accounts PRIMARY KEY (account_id)
)""",
    """CREATE TABLE chat.agents (
    account_id UUID NOT NULL,
    agent_id UUID NOT NULL,
    name VARCHAR(200),
    email VARCHAR(320),
    role VARCHAR(20),
    status VARCHAR(20) DEFAULT 'offline' NOT NULL,
    removed BOOLEAN DEFAULT 'false' NOT NULL,
    CONSTRAINT pk_agents PRIMARY KEY (account_id, agent_id)
)""",
    """CREATE TABLE chat.attachments (
    id UUID NOT NULL,
    account_id UUID NOT NULL,
    uploader_type VARCHAR(16) NOT NULL,
    uploader_id UUID NOT NULL,
    conversation_id UUID,
    message_id UUID,
    name VARCHAR(255) NOT NULL,
    size BIGINT NOT NULL,
    content_type VARCHAR(100) NOT NULL,
    storage_key VARCHAR(255) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_attachments PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_chat_attachments_account_id ON chat.attachments (account_id)""",
    """CREATE TABLE chat.conversations (
    id UUID NOT NULL,
    account_id UUID NOT NULL,
    visitor_id UUID NOT NULL,
    status VARCHAR(16) NOT NULL,
    channel VARCHAR(20) NOT NULL,
    started_by VARCHAR(20) NOT NULL,
    assignee_id UUID,
    agent_ids UUID[] DEFAULT '{}' NOT NULL,
    last_seq BIGINT DEFAULT '0' NOT NULL,
    last_message_preview VARCHAR(200),
    last_message_author_type VARCHAR(16),
    last_message_at TIMESTAMP WITH TIME ZONE,
    last_activity_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    first_visitor_message_at TIMESTAMP WITH TIME ZONE,
    first_agent_reply_at TIMESTAMP WITH TIME ZONE,
    resolved_at TIMESTAMP WITH TIME ZONE,
    resolved_by UUID,
    rating_requested BOOLEAN DEFAULT 'false' NOT NULL,
    rating INTEGER,
    rating_label VARCHAR(8),
    rating_comment TEXT,
    rated_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_conversations PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_conversations_activity ON chat.conversations (account_id, last_activity_at, id)""",
    """CREATE INDEX ix_conversations_visitor ON chat.conversations (account_id, visitor_id, created_at)""",
    """CREATE UNIQUE INDEX uq_conversations_open_visitor ON chat.conversations (account_id, visitor_id) WHERE status = 'open'""",
    """CREATE TABLE chat.messages (
    id UUID NOT NULL,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id UUID NOT NULL,
    conversation_id UUID NOT NULL,
    author_type VARCHAR(16) NOT NULL,
    author_id UUID,
    author_name VARCHAR(200),
    text TEXT NOT NULL,
    channel VARCHAR(16) NOT NULL,
    client_message_id VARCHAR(100),
    attachments JSONB DEFAULT '[]' NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_messages PRIMARY KEY (id),
    CONSTRAINT uq_messages_seq UNIQUE (seq)
)""",
    """CREATE INDEX ix_messages_conversation_seq ON chat.messages (conversation_id, seq)""",
    """CREATE UNIQUE INDEX uq_messages_client_id ON chat.messages (account_id, author_id, client_message_id) WHERE client_message_id IS NOT NULL""",
    """CREATE TABLE chat.read_markers (
    account_id UUID NOT NULL,
    conversation_id UUID NOT NULL,
    agent_id UUID NOT NULL,
    last_read_seq BIGINT DEFAULT '0' NOT NULL,
    marked_unread BOOLEAN DEFAULT 'false' NOT NULL,
    CONSTRAINT pk_read_markers PRIMARY KEY (conversation_id, agent_id)
)""",
    """CREATE TABLE chat.shortcuts (
    id UUID NOT NULL,
    account_id UUID NOT NULL,
    name VARCHAR(100) NOT NULL,
    text TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_shortcuts PRIMARY KEY (id),
    CONSTRAINT uq_shortcuts_account_name UNIQUE (account_id, name)
)""",
    """CREATE TABLE chat.visitors (
    account_id UUID NOT NULL,
    visitor_id UUID NOT NULL,
    name VARCHAR(200),
    email VARCHAR(320),
    label VARCHAR(200),
    blocked BOOLEAN DEFAULT 'false' NOT NULL,
    CONSTRAINT pk_visitors PRIMARY KEY (account_id, visitor_id)
)""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ['visitors', 'shortcuts', 'read_markers', 'messages', 'conversations', 'attachments', 'agents', 'accounts']:
        op.execute(f"DROP TABLE chat.{table}")
