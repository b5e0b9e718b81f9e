"""Event handlers that notify: visitor messages, contact forms, assignments, new visitors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.events.catalogue import ConversationData, MessageCreated, VisitorData
from parley_common.events.envelope import Event
from parley_common.i18n import Phrase
from parley_notify import mail, projections, pushes, repository, rules
from parley_notify.config import get_notify_settings
from parley_notify.models import VisitorBurst

CONTACT_FORM = "contact_form"


async def on_message_created(session: AsyncSession, event: Event) -> None:
    data = MessageCreated.model_validate(event.data)
    if data.internal:
        return  # a note between agents: neither a visitor message nor an answer to one
    at = data.created_at or event.occurred_at
    agent_replied = data.author_type == "agent" and data.author_id is not None
    conversation = await projections.record_message(
        session,
        event.account_id,
        data.conversation_id,
        visitor_id=data.visitor_id,
        visitor_name=data.visitor_name,
        visitor_wrote=data.author_type == "visitor",
        agent_replied=agent_replied,
        text=data.text,
        at=at,
    )
    if conversation is None:
        return
    if agent_replied and data.author_id is not None:
        # An agent's reply answers the visitor and means that agent has read the conversation.
        await projections.mark_read(
            session,
            account_id=event.account_id,
            conversation_id=conversation.conversation_id,
            agent_id=data.author_id,
            at=at,
        )
        return
    if data.author_type != "visitor":
        return

    contact_form = CONTACT_FORM in (data.channel, conversation.channel)
    if not contact_form and not conversation.has_devices:
        return
    # Without a contact form only agents with a device can be told (by push): when the
    # account has no device at all, nothing more is read.
    agents = await repository.account_agents(
        session, event.account_id, with_devices_only=not contact_form
    )
    if not agents and not contact_form:
        return
    # Chat names the visitor (name, else label) on the event; older events may not.
    title = data.visitor_name or await projections.visitor_title(
        session, event.account_id, data.visitor_id, conversation.visitor_name
    )
    max_chars = get_notify_settings().push_text_max_chars
    body = pushes.truncate(data.text, max_chars) if data.text else Phrase.of("(attachment)")
    alert = pushes.Alert(
        kind=CONTACT_FORM if contact_form else "new_message",
        title=title,
        body=body,
        thread_id=str(conversation.conversation_id),
        conversation_id=conversation.conversation_id,
        extra=(("message_id", str(data.message_id)),),
    )
    recipients = rules.visitor_message(
        agents, assignee_id=conversation.assignee_id, author_id=data.author_id
    )
    await pushes.schedule(
        session, account_id=event.account_id, event_id=event.id, alert=alert, recipients=recipients
    )
    if contact_form:
        await mail.queue_contact_form(
            session,
            account_id=event.account_id,
            event_id=event.id,
            visitor=title,
            text=data.text or "",
            conversation_id=conversation.conversation_id,
            recipients=rules.email_recipients(agents, assignee_id=conversation.assignee_id),
        )


async def on_conversation_assigned(session: AsyncSession, event: Event) -> None:
    data = ConversationData.model_validate(event.data)
    conversation = await projections.upsert_conversation(
        session, event.account_id, data.conversation_id, visitor_id=data.visitor_id
    )
    if conversation is None:
        return
    conversation.assignee_id = data.assignee_id
    await session.flush()
    agents = await repository.account_agents(session, event.account_id)
    recipients = rules.assignment(agents, assignee_id=data.assignee_id, assigned_by=data.agent_id)
    if not recipients:
        return
    title = await projections.visitor_title(
        session, event.account_id, conversation.visitor_id, conversation.visitor_name
    )
    body = Phrase.of("Conversation assigned to you")
    if conversation.last_visitor_text:
        last = pushes.truncate(
            conversation.last_visitor_text, get_notify_settings().push_text_max_chars - 30
        )
        body = Phrase.of("Conversation assigned to you: {text}", text=last)
    alert = pushes.Alert(
        kind="assigned",
        title=title,
        body=body,
        thread_id=str(conversation.conversation_id),
        conversation_id=conversation.conversation_id,
    )
    await pushes.schedule(
        session, account_id=event.account_id, event_id=event.id, alert=alert, recipients=recipients
    )


# --- new visitors, coalesced -----------------------------------------------------------------
def _visitor_collapse_id(account_id: uuid.UUID) -> str:
    return f"visitors-{account_id}"


async def on_visitor_arrived(session: AsyncSession, event: Event) -> None:
    """The first arrival of a burst is pushed at once; later arrivals in the window are only
    counted, and the window's end sends one "N new visitors" push with the same collapse id,
    which replaces the first on the phone."""
    data = VisitorData.model_validate(event.data)
    await projections.upsert_visitor(session, event.account_id, data)
    window = timedelta(seconds=get_notify_settings().visitor_burst_seconds)
    now = datetime.now(UTC)
    await session.execute(
        pg_insert(VisitorBurst)
        .values(account_id=event.account_id, opened_at=now, count=0)
        .on_conflict_do_nothing()
    )
    burst = await session.scalar(
        select(VisitorBurst)
        .where(VisitorBurst.account_id == event.account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert burst is not None
    if burst.count > 0 and burst.opened_at > now - window:
        burst.count += 1
        await session.flush()
        return
    if burst.count > 1:  # an expired window the sweeper has not closed yet
        await _send_burst_summary(session, burst)
    burst.opened_at, burst.count = now, 1
    await session.flush()
    name: str | Phrase = data.name or data.label or Phrase.of("A visitor")
    page = data.title or data.url
    body = Phrase.of("{name} is on {page}", name=name, page=page) if page else name
    alert = pushes.Alert(
        kind="new_visitor",
        title=Phrase.of("New visitor"),
        body=body,
        thread_id="visitors",
        collapse_id=_visitor_collapse_id(event.account_id),
        extra=(("visitor_id", str(data.visitor_id)), ("count", 1)),
    )
    agents = await repository.account_agents(session, event.account_id)
    await pushes.schedule(
        session,
        account_id=event.account_id,
        event_id=event.id,
        alert=alert,
        recipients=rules.new_visitor(agents),
    )


async def _send_burst_summary(session: AsyncSession, burst: VisitorBurst) -> None:
    alert = pushes.Alert(
        kind="new_visitor",
        title=Phrase.of("New visitors"),
        body=Phrase(
            "{count} new visitor on your website",
            plural="{count} new visitors on your website",
            count=burst.count,
        ),
        thread_id="visitors",
        collapse_id=_visitor_collapse_id(burst.account_id),
        extra=(("count", burst.count),),
    )
    # One summary per window: its id is derived from the window, so a retry adds nothing.
    summary_id = uuid.uuid5(burst.account_id, burst.opened_at.isoformat())
    agents = await repository.account_agents(session, burst.account_id)
    await pushes.schedule(
        session,
        account_id=burst.account_id,
        event_id=summary_id,
        alert=alert,
        recipients=rules.new_visitor(agents),
    )


async def seconds_until_burst_closes(session: AsyncSession) -> float:
    """Seconds until the oldest burst window ends (a window opened later ends no sooner than
    the burst time from now)."""
    window = get_notify_settings().visitor_burst_seconds
    oldest = await session.scalar(select(func.min(VisitorBurst.opened_at)))
    if oldest is None:
        return window
    return (oldest + timedelta(seconds=window) - datetime.now(UTC)).total_seconds()


async def close_visitor_bursts(session: AsyncSession) -> int:
    """Close every window older than the burst time; returns how many summaries went out."""
    window = timedelta(seconds=get_notify_settings().visitor_burst_seconds)
    expired = list(
        await session.scalars(
            select(VisitorBurst)
            .where(VisitorBurst.opened_at <= datetime.now(UTC) - window)
            .with_for_update(skip_locked=True)
            .limit(200)
        )
    )
    summaries = 0
    for burst in expired:
        if burst.count > 1:
            await _send_burst_summary(session, burst)
            summaries += 1
    if expired:
        await session.execute(
            delete(VisitorBurst).where(VisitorBurst.account_id.in_([b.account_id for b in expired]))
        )
    return summaries
