"""Idempotent consumers: the event id is recorded in the same transaction as the effect."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley_common.events.envelope import Event
from parley_common.logging import request_id_var
from parley_common.metrics import EVENTS_CONSUMED, EVENTS_FAILED

log = logging.getLogger("parley.consumer")

Handler = Callable[[AsyncSession, Event], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """One durable queue (``<namespace>.<service>.<purpose>``) and its handlers by event type."""

    purpose: str
    handlers: dict[str, Handler]
    prefetch: int = 32


async def handle_once(
    session_factory: async_sessionmaker[AsyncSession],
    processed: Table,
    consumer_name: str,
    handler: Handler,
    event: Event,
) -> bool:
    """Run ``handler`` unless this consumer already handled ``event``; True if it ran."""
    async with session_factory() as session, session.begin():
        claimed = await session.execute(
            pg_insert(processed)
            .values(consumer=consumer_name, event_id=event.id)
            .on_conflict_do_nothing()
            .returning(processed.c.event_id)
        )
        if claimed.first() is None:
            return False
        await handler(session, event)
    return True


def message_handler(
    session_factory: async_sessionmaker[AsyncSession],
    processed: Table,
    consumer_name: str,
    consumer: Consumer,
) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
    async def on_message(message: AbstractIncomingMessage) -> None:
        try:
            event = Event.model_validate(orjson.loads(message.body))
        except Exception:
            log.error("%s: undecodable message %s dead-lettered", consumer_name, message.message_id)
            await message.reject(requeue=False)
            return
        handler = consumer.handlers.get(event.type)
        if handler is None:
            await message.ack()
            return
        token = request_id_var.set(event.request_id)
        try:
            await handle_once(session_factory, processed, consumer_name, handler, event)
        except Exception:
            EVENTS_FAILED.labels(consumer_name, event.type).inc()
            log.exception(
                "%s failed on %s",
                consumer_name,
                event.type,
                extra={"event_id": str(event.id), "event_type": event.type},
            )
            # Requeued; the quorum queue's delivery limit dead-letters a poison message.
            await message.nack(requeue=True)
        else:
            EVENTS_CONSUMED.labels(consumer_name, event.type).inc()
            await message.ack()
        finally:
            request_id_var.reset(token)

    return on_message
