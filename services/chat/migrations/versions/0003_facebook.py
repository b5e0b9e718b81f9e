"""Facebook Messenger: connected pages and their Messenger users (contacts).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATEMENTS = [
    """CREATE TABLE chat.facebook_pages (
    account_id UUID NOT NULL,
    page_id VARCHAR(64) NOT NULL,
    page_name VARCHAR(200),
    access_token TEXT NOT NULL,
    status VARCHAR(20) NOT NULL,
    connected_by UUID,
    connected_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_facebook_pages PRIMARY KEY (account_id),
    CONSTRAINT uq_facebook_pages_page_id UNIQUE (page_id)
)""",
    """CREATE TABLE chat.facebook_contacts (
    account_id UUID NOT NULL,
    page_id VARCHAR(64) NOT NULL,
    psid VARCHAR(64) NOT NULL,
    visitor_id UUID NOT NULL,
    name VARCHAR(200),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_facebook_contacts PRIMARY KEY (account_id, page_id, psid)
)""",
    """CREATE UNIQUE INDEX uq_facebook_contacts_visitor
    ON chat.facebook_contacts (account_id, visitor_id)""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE chat.facebook_contacts")
    op.execute("DROP TABLE chat.facebook_pages")
