"""GDPR erasure in notify: the visitor's name and texts in the projections, and every push,
e-mail and webhook delivery that carried them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.erasure import erasure_consumer
from parley_notify.events import outbox
from parley_notify.models import Conversation, MailNotification, Push, Visitor, WebhookDelivery


def _mentions(column: Any, needles: list[str]) -> ColumnElement[bool]:
    return or_(*(func.strpos(cast(column, Text), n) > 0 for n in needles))


async def erase_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> None:
    conversations = (
        await session.scalars(
            select(Conversation.conversation_id).where(
                Conversation.account_id == account_id, Conversation.visitor_id == visitor_id
            )
        )
    ).all()
    needles = [str(visitor_id), *(str(c) for c in conversations)]
    await session.execute(
        update(Conversation)
        .where(Conversation.account_id == account_id, Conversation.visitor_id == visitor_id)
        .values(visitor_name=None, last_visitor_text=None)
    )
    await session.execute(
        delete(Visitor).where(Visitor.account_id == account_id, Visitor.visitor_id == visitor_id)
    )
    for model, column in (
        (Push, Push.payload),
        (MailNotification, MailNotification.body),
        (WebhookDelivery, WebhookDelivery.body),
    ):
        table = model.__table__
        await session.execute(
            delete(table).where(table.c.account_id == account_id, _mentions(column, needles))
        )


CONSUMER = erasure_consumer(outbox, erase_visitor)
