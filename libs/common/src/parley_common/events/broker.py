"""RabbitMQ topology: one durable topic exchange, a dead-letter exchange, quorum queues."""

from __future__ import annotations

from collections.abc import Iterable

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, AbstractRobustConnection

DELIVERY_LIMIT = 5


def exchange_name(namespace: str) -> str:
    return f"{namespace}.events"


def dead_letter_exchange_name(namespace: str) -> str:
    return f"{namespace}.dlx"


def queue_name(namespace: str, service: str, purpose: str) -> str:
    return f"{namespace}.{service}.{purpose}"


async def connect(url: str, name: str = "parley") -> AbstractRobustConnection:
    """A robust connection: reconnects after a broker restart and re-declares what it had."""
    return await aio_pika.connect_robust(url, client_properties={"connection_name": name})


async def declare_exchanges(channel: AbstractChannel, namespace: str) -> AbstractExchange:
    exchange = await channel.declare_exchange(
        exchange_name(namespace), aio_pika.ExchangeType.TOPIC, durable=True
    )
    dlx = await channel.declare_exchange(
        dead_letter_exchange_name(namespace), aio_pika.ExchangeType.TOPIC, durable=True
    )
    dead = await channel.declare_queue(
        f"{namespace}.dead-letter", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead.bind(dlx, "#")
    return exchange


async def declare_queue(
    channel: AbstractChannel, namespace: str, name: str, routing_keys: Iterable[str]
) -> AbstractQueue:
    """A durable quorum queue with a delivery limit; poison messages go to the DLX."""
    exchange = await declare_exchanges(channel, namespace)
    queue = await channel.declare_queue(
        name,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": dead_letter_exchange_name(namespace),
        },
    )
    for key in routing_keys:
        await queue.bind(exchange, key)
    return queue


async def declare_delay_queue(
    channel: AbstractChannel, name: str, *, delay_ms: int, target_queue: str
) -> AbstractQueue:
    """A queue that holds each message ``delay_ms``, then dead-letters it into ``target_queue``.

    For retries with backoff: publish to it through the default exchange. Nothing consumes
    it, so it expires an hour after it was last declared; declare it before each publish.
    """
    return await channel.declare_queue(
        name,
        durable=True,
        arguments={
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": target_queue,
            "x-expires": delay_ms + 3_600_000,
        },
    )
