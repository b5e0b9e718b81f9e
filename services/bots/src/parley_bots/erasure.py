"""GDPR erasure in bots: the visitor's state (pages, visits) goes; bot runs keep only ids, so
the bots' statistics keep their counts."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from parley_bots.events import outbox
from parley_bots.models import VisitorState
from parley_common.erasure import erasure_consumer


async def erase_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> None:
    await session.execute(
        delete(VisitorState).where(
            VisitorState.account_id == account_id, VisitorState.visitor_id == visitor_id
        )
    )


CONSUMER = erasure_consumer(outbox, erase_visitor)
