"""GDPR erasure of a visitor, a saga over events that the visitors service leads.

DELETE /visitors/{id} erases the visitors service's part at once (profile, page views,
presence, its published events about the visitor) and emits ``visitors.erasure.requested``
in the same transaction. Every other service erases its part when that event reaches it
(``parley_common.erasure``) and reports ``<service>.erasure.completed``; the erasure is
completed when all have. Events are durable, so a service that is down finishes its part
when it comes back. The stream's replay window is cleaned by the gateway's sequencer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.errors import NotFound
from parley_common.events.catalogue import ErasureCompleted
from parley_common.events.consumer import Consumer
from parley_common.events.envelope import Event
from parley_common.events.outbox import forget, tombstone
from parley_visitors import repository as repo
from parley_visitors.errors import VisitorNotFound
from parley_visitors.events import outbox
from parley_visitors.models import Erasure, Visitor
from parley_visitors.presence import Presence

SERVICES = ("auth", "chat", "visitors", "notify", "bots")


class ErasureNotFound(NotFound):
    code, title = "erasure_not_found", "No such erasure"


def erasure_out(row: Erasure) -> dict[str, Any]:
    return {
        "id": row.id,
        "visitor_id": row.visitor_id,
        "status": "completed" if row.completed_at else "pending",
        "services": row.services,
        "created_at": row.created_at,
        "completed_at": row.completed_at,
    }


async def erase(
    session: AsyncSession, presence: Presence, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> dict[str, Any]:
    if await repo.get_visitor(session, account_id, visitor_id, for_update=True) is None:
        raise VisitorNotFound()
    await session.execute(
        delete(Visitor).where(Visitor.account_id == account_id, Visitor.id == visitor_id)
    )  # page views go with it (ON DELETE CASCADE)
    await forget(session, outbox, str(visitor_id))
    await tombstone(session, outbox, account_id, visitor_id)
    erasure = Erasure(
        id=uuid.uuid4(),
        account_id=account_id,
        visitor_id=visitor_id,
        services={s: s == "visitors" for s in SERVICES},
        created_at=datetime.now(UTC),
    )
    session.add(erasure)
    await session.flush()
    await outbox.emit(
        session,
        "visitors.erasure.requested",
        account_id,
        {"erasure_id": erasure.id, "visitor_id": visitor_id},
    )
    await presence.forget(account_id, visitor_id)
    return {"erasure_id": erasure.id}


async def status(session: AsyncSession, account_id: uuid.UUID, erasure_id: uuid.UUID) -> Any:
    row = await session.scalar(
        select(Erasure).where(Erasure.account_id == account_id, Erasure.id == erasure_id)
    )
    if row is None:
        raise ErasureNotFound()
    return erasure_out(row)


async def on_erasure_completed(session: AsyncSession, event: Event) -> None:
    data = ErasureCompleted.model_validate(event.data)
    row = await session.scalar(
        select(Erasure)
        .where(Erasure.account_id == event.account_id, Erasure.id == data.erasure_id)
        .with_for_update()
    )
    if row is None:
        return
    services = {**row.services, event.type.split(".", 1)[0]: True}
    row.services = services
    if all(services.values()) and row.completed_at is None:
        row.completed_at = datetime.now(UTC)
    await session.flush()


CONSUMER = Consumer(
    "erasures",
    {f"{s}.erasure.completed": on_erasure_completed for s in SERVICES if s != "visitors"},
)
