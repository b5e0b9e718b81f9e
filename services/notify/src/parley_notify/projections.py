"""Notify's projections of other services' data, kept from their events.

Handlers here only update projections (agents, conversations, read state, visitors) and
devices; the notifications themselves are decided in ``notifications``. Events may arrive in
any order, so every write is an upsert.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.db import driver_connection
from parley_common.events.catalogue import (
    AccountCreated,
    AgentData,
    AgentRemoved,
    AgentStatusChanged,
    ConversationData,
    SessionRevoked,
    SettingsUpdated,
    VisitorData,
)
from parley_common.events.envelope import Event
from parley_notify import repository
from parley_notify.models import Account, Conversation, ConversationRead, Device, Visitor


# --- accounts -------------------------------------------------------------------------------
async def _set_language(session: AsyncSession, account_id: uuid.UUID, general: Any) -> None:
    language = general.get("language") if isinstance(general, dict) else None
    if isinstance(language, str) and language:
        await session.execute(
            pg_insert(Account)
            .values(account_id=account_id, language=language[:8])
            .on_conflict_do_update(
                index_elements=[Account.account_id], set_={"language": language[:8]}
            )
        )


async def on_account_created(session: AsyncSession, event: Event) -> None:
    data = AccountCreated.model_validate(event.data)
    await _set_language(session, event.account_id, data.settings.get("general"))


async def on_settings_updated(session: AsyncSession, event: Event) -> None:
    data = SettingsUpdated.model_validate(event.data)
    if data.section == "general":
        await _set_language(session, event.account_id, data.settings)


async def account_language(session: AsyncSession, account_id: uuid.UUID) -> str:
    """The account's language (its general settings), English until known."""
    stmt = select(Account.language).where(Account.account_id == account_id)
    return (await session.scalar(stmt)) or "en"


# --- agents ---------------------------------------------------------------------------------
async def on_agent_upserted(session: AsyncSession, event: Event) -> None:
    data = AgentData.model_validate(event.data)
    fields = {
        k: v
        for k, v in data.model_dump(include={"name", "email", "role", "status"}).items()
        if v is not None
    }
    await repository.upsert_agent(
        session,
        account_id=event.account_id,
        agent_id=data.agent_id,
        fields=fields,
        at=event.occurred_at,
    )


async def on_agent_status_changed(session: AsyncSession, event: Event) -> None:
    data = AgentStatusChanged.model_validate(event.data)
    await repository.upsert_agent(
        session,
        account_id=event.account_id,
        agent_id=data.agent_id,
        fields={"status": data.status},
        at=event.occurred_at,
    )


async def on_agent_removed(session: AsyncSession, event: Event) -> None:
    data = AgentRemoved.model_validate(event.data)
    await repository.remove_agent(session, account_id=event.account_id, agent_id=data.agent_id)


async def on_session_revoked(session: AsyncSession, event: Event) -> None:
    """Logout, password change, refresh-token reuse: that session's phone stops getting pushes."""
    data = SessionRevoked.model_validate(event.data)
    await repository.delete_session_devices(
        session, account_id=event.account_id, session_id=data.session_id
    )


# --- visitors -------------------------------------------------------------------------------
async def upsert_visitor(session: AsyncSession, account_id: uuid.UUID, data: VisitorData) -> None:
    fields = {k: v for k, v in {"name": data.name, "label": data.label}.items() if v is not None}
    stmt = pg_insert(Visitor).values(visitor_id=data.visitor_id, account_id=account_id, **fields)
    if fields:
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Visitor.visitor_id],
                set_=fields,
                where=Visitor.account_id == account_id,
            )
        )
    else:
        await session.execute(stmt.on_conflict_do_nothing())


async def on_visitor_updated(session: AsyncSession, event: Event) -> None:
    await upsert_visitor(session, event.account_id, VisitorData.model_validate(event.data))


async def visitor_title(
    session: AsyncSession,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID | None,
    fallback: str | None = None,
) -> str:
    """What a push calls the visitor: their name, else their label, else "Visitor"."""
    if visitor_id is not None:
        visitor = await session.scalar(
            select(Visitor).where(
                Visitor.account_id == account_id, Visitor.visitor_id == visitor_id
            )
        )
        if visitor is not None and (visitor.name or visitor.label):
            return visitor.name or visitor.label or "Visitor"
    return fallback or "Visitor"


# --- conversations --------------------------------------------------------------------------
async def upsert_conversation(
    session: AsyncSession, account_id: uuid.UUID, conversation_id: uuid.UUID, **fields: Any
) -> Conversation | None:
    """The conversation's projection row (created if chat's events came out of order); None
    if the id is another account's (never touched)."""
    known = {k: v for k, v in fields.items() if v is not None}
    stmt = pg_insert(Conversation).values(
        conversation_id=conversation_id, account_id=account_id, **known
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[Conversation.conversation_id],
        set_=known or {"account_id": account_id},
        where=Conversation.account_id == account_id,
    ).returning(Conversation)
    row: Conversation | None = (
        await session.scalars(upsert, execution_options={"populate_existing": True})
    ).first()
    return row


class RecordedMessage(NamedTuple):
    conversation_id: uuid.UUID
    channel: str | None
    assignee_id: uuid.UUID | None
    visitor_name: str | None
    has_devices: bool


# A message in the conversation's projection: a visitor's message starts (or continues) the
# wait for a reply, an agent's ends it; a null visitor id or name changes nothing. Fixed SQL
# (built once, no statement construction per event); only table names are formatted in.
_RECORD_MESSAGE = f"""
INSERT INTO {Conversation.__table__.fullname} AS c (conversation_id, account_id, visitor_id,
    visitor_name, status, marked_unread, last_visitor_message_at, last_visitor_text,
    awaiting_reply_since)
VALUES ($1, $2, $3, $4, 'open', false, CASE WHEN $5::boolean THEN $6::timestamptz END,
    CASE WHEN $5::boolean THEN $7::text END, CASE WHEN $5::boolean THEN $6::timestamptz END)
ON CONFLICT (conversation_id) DO UPDATE SET
    visitor_id = coalesce(EXCLUDED.visitor_id, c.visitor_id),
    visitor_name = coalesce(EXCLUDED.visitor_name, c.visitor_name),
    last_visitor_message_at = CASE WHEN $5::boolean THEN $6::timestamptz
        ELSE c.last_visitor_message_at END,
    last_visitor_text = CASE WHEN $5::boolean THEN $7::text ELSE c.last_visitor_text END,
    awaiting_reply_since = CASE WHEN $5::boolean THEN coalesce(c.awaiting_reply_since, $6)
        WHEN $8::boolean THEN NULL ELSE c.awaiting_reply_since END,
    missed_mail_sent_at = CASE WHEN $8::boolean THEN NULL ELSE c.missed_mail_sent_at END
WHERE c.account_id = $2
RETURNING c.conversation_id, c.channel, c.assignee_id, c.visitor_name,
    EXISTS (SELECT 1 FROM {Device.__table__.fullname} AS d WHERE d.account_id = $2)
"""  # noqa: S608


async def record_message(
    session: AsyncSession,
    account_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    visitor_id: uuid.UUID | None,
    visitor_name: str | None,
    visitor_wrote: bool,
    agent_replied: bool,
    text: str | None,
    at: datetime,
) -> RecordedMessage | None:
    """A message in the conversation's projection, in one upsert run on the session's asyncpg
    connection (inside its transaction). Returns the row's conversation_id, channel,
    assignee_id and visitor_name, and whether the account has a device; None if the id is
    another account's."""
    driver = await driver_connection(session)
    row = await driver.fetchrow(
        _RECORD_MESSAGE,
        conversation_id,
        account_id,
        visitor_id,
        visitor_name,
        visitor_wrote,
        at,
        text,
        agent_replied,
    )
    return None if row is None else RecordedMessage(*row)


async def on_conversation_created(session: AsyncSession, event: Event) -> None:
    data = ConversationData.model_validate(event.data)
    await upsert_conversation(
        session,
        event.account_id,
        data.conversation_id,
        visitor_id=data.visitor_id,
        status=data.status or "open",
        assignee_id=data.assignee_id,
        channel=data.channel,
    )


async def on_conversation_resolved(session: AsyncSession, event: Event) -> None:
    data = ConversationData.model_validate(event.data)
    await upsert_conversation(session, event.account_id, data.conversation_id, status="resolved")
    await session.execute(
        update(Conversation)
        .where(
            Conversation.account_id == event.account_id,
            Conversation.conversation_id == data.conversation_id,
        )
        .values(awaiting_reply_since=None)
    )


async def on_conversation_reopened(session: AsyncSession, event: Event) -> None:
    data = ConversationData.model_validate(event.data)
    await upsert_conversation(session, event.account_id, data.conversation_id, status="open")


async def mark_read(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    conversation_id: uuid.UUID,
    agent_id: uuid.UUID,
    at: datetime,
    unread: bool = False,
) -> None:
    values: dict[str, Any] = {"marked_unread": unread}
    if not unread:
        values["read_at"] = at
    await session.execute(
        pg_insert(ConversationRead)
        .values(
            conversation_id=conversation_id,
            agent_id=agent_id,
            account_id=account_id,
            **values,
        )
        .on_conflict_do_update(
            index_elements=[ConversationRead.conversation_id, ConversationRead.agent_id],
            set_=values,
        )
    )


async def on_conversation_read(session: AsyncSession, event: Event) -> None:
    """An agent read the conversation, or marked it unread (``unread: true``)."""
    data = ConversationData.model_validate(event.data)
    if await upsert_conversation(session, event.account_id, data.conversation_id) is None:
        return
    unread = bool(data.unread)
    if data.agent_id is not None:
        await mark_read(
            session,
            account_id=event.account_id,
            conversation_id=data.conversation_id,
            agent_id=data.agent_id,
            at=event.occurred_at,
            unread=unread,
        )
        return
    # No agent named: the read state is the conversation's.
    values: dict[str, Any] = {"marked_unread": unread}
    if not unread:
        values["read_at"] = event.occurred_at
    await session.execute(
        update(Conversation)
        .where(
            Conversation.account_id == event.account_id,
            Conversation.conversation_id == data.conversation_id,
        )
        .values(**values)
    )
