"""E-mail notifications: contact-form messages and missed chats, to agents who want e-mail.

Mails are rows written with the event's effect (one per reason and agent, so a redelivered
event or a second sweep sends nothing twice) and sent over SMTP by a worker job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common import i18n
from parley_common.mail import build_message, send_mail
from parley_common.worker import WorkerContext
from parley_notify import projections, repository, rules
from parley_notify.config import get_notify_settings
from parley_notify.models import Conversation, MailNotification
from parley_notify.repository import AgentRow
from parley_notify.wakes import wakes

log = logging.getLogger("parley.notify.mail")

MAX_MAIL_ATTEMPTS = 5
MAIL_BATCH = 50


async def _queue(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    dedupe_key: str,
    kind: str,
    subject: str,
    body: str,
    recipients: Sequence[AgentRow],
) -> None:
    rows = [
        {
            "id": uuid.uuid4(),
            "account_id": account_id,
            "agent_id": a.agent_id,
            "dedupe_key": dedupe_key,
            "kind": kind,
            "to_address": a.email,
            "subject": subject[:300],
            "body": body,
        }
        for a in recipients
        if a.email
    ]
    if rows:
        await session.execute(
            pg_insert(MailNotification)
            .values(rows)
            .on_conflict_do_nothing(constraint="uq_mail_notifications_key_agent")
        )


def _reply_line(language: str, conversation_id: uuid.UUID) -> str:
    base = get_notify_settings().public_url.rstrip("/")
    link = f"{base}/api/v1/conversations/{conversation_id}"
    return i18n.gettext(language, "Reply in the app or at {link}", link=link) + "\n"


async def queue_contact_form(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    event_id: uuid.UUID,
    visitor: str,
    text: str,
    conversation_id: uuid.UUID,
    recipients: Sequence[AgentRow],
) -> None:
    language = i18n.language_of(await projections.account_language(session, account_id))
    body = (
        i18n.gettext(
            language, "{visitor} left a message through the contact form:", visitor=visitor
        )
        + f"\n\n{text}\n\n"
        + _reply_line(language, conversation_id)
    )
    await _queue(
        session,
        account_id=account_id,
        dedupe_key=f"contact:{event_id}",
        kind="contact_form",
        subject=i18n.gettext(language, "New contact form message from {visitor}", visitor=visitor),
        body=body,
        recipients=recipients,
    )


async def queue_webhook_disabled(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    delivery_id: uuid.UUID,
    webhook_id: uuid.UUID,
    url: str,
    recipients: Sequence[AgentRow],
) -> None:
    """To the account's admins: a webhook failed for a day and was disabled."""
    base = get_notify_settings().public_url.rstrip("/")
    await _queue(
        session,
        account_id=account_id,
        dedupe_key=f"webhook-disabled:{delivery_id}",
        kind="webhook_disabled",
        subject="A webhook was disabled after a day of failed deliveries",
        body=(
            f"Parley could not deliver events to {url} for a day, so the webhook was "
            f"disabled.\n\nIts attempts: {base}/api/v1/webhooks/{webhook_id}/deliveries\n"
            'Enable it again with PATCH {"enabled": true} once it answers.\n'
        ),
        recipients=recipients,
    )


async def queue_missed_chats(session: AsyncSession) -> int:
    """Conversations whose visitor has waited longer than the missed-chat time: one mail per
    waiting period to the agents who want e-mail. Returns how many conversations."""
    after = timedelta(seconds=get_notify_settings().missed_chat_after_seconds)
    missed = list(
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.status == "open",
                Conversation.awaiting_reply_since.is_not(None),
                Conversation.missed_mail_sent_at.is_(None),
                Conversation.awaiting_reply_since <= datetime.now(UTC) - after,
            )
            .order_by(Conversation.awaiting_reply_since)
            .limit(100)
            .with_for_update(skip_locked=True)
        )
    )
    for conversation in missed:
        assert conversation.awaiting_reply_since is not None
        agents = await repository.account_agents(session, conversation.account_id)
        visitor = await projections.visitor_title(
            session, conversation.account_id, conversation.visitor_id, conversation.visitor_name
        )
        language = i18n.language_of(
            await projections.account_language(session, conversation.account_id)
        )
        body = (
            i18n.gettext(language, "{visitor} wrote and no one has answered yet:", visitor=visitor)
            + f"\n\n{conversation.last_visitor_text or ''}\n\n"
            + _reply_line(language, conversation.conversation_id)
        )
        since = int(conversation.awaiting_reply_since.timestamp())
        await _queue(
            session,
            account_id=conversation.account_id,
            dedupe_key=f"missed:{conversation.conversation_id}:{since}",
            kind="missed_chat",
            subject=i18n.gettext(language, "Missed chat from {visitor}", visitor=visitor),
            body=body,
            recipients=rules.email_recipients(agents, assignee_id=conversation.assignee_id),
        )
        conversation.missed_mail_sent_at = datetime.now(UTC)
    await session.flush()
    return len(missed)


async def seconds_until_missed(session: AsyncSession) -> float:
    """Seconds until the next conversation becomes a missed chat: its visitor's wait reaches
    the missed-chat time. A visitor who starts waiting later is due no sooner than that time
    from now, so nothing but this decides when to look again."""
    after = get_notify_settings().missed_chat_after_seconds
    oldest = await session.scalar(
        select(func.min(Conversation.awaiting_reply_since)).where(
            Conversation.status == "open", Conversation.missed_mail_sent_at.is_(None)
        )
    )
    if oldest is None:
        return after
    return min(after, (oldest + timedelta(seconds=after) - datetime.now(UTC)).total_seconds())


async def send_pending_mail(ctx: WorkerContext) -> int:
    """Send a batch of queued mails; a failed send is retried on the next round. Returns how
    many are left to send (failed ones to retry, or a full batch: more may wait)."""
    assert ctx.session_factory is not None
    settings = get_notify_settings()
    async with ctx.session_factory() as session, session.begin():
        batch = list(
            await session.scalars(
                select(MailNotification)
                .where(MailNotification.status == "pending")
                .order_by(MailNotification.created_at)
                .limit(MAIL_BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        for row in batch:
            row.attempts += 1
            message = build_message(
                settings,
                to=row.to_address,
                subject=row.subject,
                text=row.body,
                headers={"X-Parley-Notification": row.kind},
            )
            try:
                await send_mail(settings, message)
            except Exception as exc:
                log.warning("mail %s to agent %s failed: %r", row.kind, row.agent_id, exc)
                if row.attempts >= MAX_MAIL_ATTEMPTS:
                    row.status = "failed"
                continue
            row.status, row.sent_at = "sent", datetime.now(UTC)
    left = sum(1 for row in batch if row.status == "pending")
    return left or (len(batch) if len(batch) == MAIL_BATCH else 0)


async def mail_notifications(ctx: WorkerContext) -> None:
    """Background job: find missed chats and send queued mails; then sleep until the next
    chat would be missed, a mail is queued (NOTIFY), or a failed send is due again."""
    assert ctx.session_factory is not None
    interval = get_notify_settings().sweep_interval_seconds
    wake = wakes(ctx).mail
    while True:
        async with ctx.session_factory() as session, session.begin():
            await queue_missed_chats(session)
            due_in = await seconds_until_missed(session)
        if await send_pending_mail(ctx):
            due_in = interval
        await wake.sleep(due_in, floor=interval)
