"""GDPR erasure, the part every service shares: a consumer for ``visitors.erasure.requested``
that runs the service's own erase function, forgets its published events that mention the
visitor, records the visitor as erased (the service's consumers then skip any event about it
still in flight: ``parley_common.events.consumer``), and reports
``<service>.erasure.completed`` — all in the consumer's transaction, so a redelivered request
does nothing twice and a service that was down does its part when it comes back (the request
waits in its durable queue)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.events.catalogue import ErasureRequested
from parley_common.events.consumer import Consumer
from parley_common.events.envelope import Event
from parley_common.events.outbox import Outbox, forget, tombstone

EraseVisitor = Callable[[AsyncSession, uuid.UUID, uuid.UUID], Awaitable[None]]


def erasure_consumer(outbox: Outbox, erase: EraseVisitor | None = None) -> Consumer:
    """``erase(session, account_id, visitor_id)`` deletes or anonymises the service's data."""
    service = outbox.schema

    async def on_erasure_requested(session: AsyncSession, event: Event) -> None:
        data = ErasureRequested.model_validate(event.data)
        if erase is not None:
            await erase(session, event.account_id, data.visitor_id)
        await forget(session, outbox, str(data.visitor_id))
        await tombstone(session, outbox, event.account_id, data.visitor_id)
        await outbox.emit(
            session,
            f"{service}.erasure.completed",
            event.account_id,
            {"erasure_id": data.erasure_id, "visitor_id": data.visitor_id},
        )

    return Consumer("erasure", {"visitors.erasure.requested": on_erasure_requested})
