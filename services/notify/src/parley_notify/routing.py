"""Which ``chat.message.created`` events reach the notify worker (bindings of its queue).

A visitor's follow-up (their previous message was theirs too) changes nothing notify acts on
unless an agent may be pushed: the conversation already awaits a reply. So follow-ups reach
the worker only for accounts with a push device (one binding per such account: added when a
device is registered, and for every account with devices when the worker starts) and when
they came by e-mail or contact form (which may mail the agents). Every other message —
agents', bots', system ones, and a visitor's first word after someone else — always does.

A binding outlives the account's last device (nothing unbinds it): that costs the worker the
follow-ups it no longer needs, never a push it does.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable

from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.events import broker
from parley_common.events.catalogue import WEBHOOK_EVENT_TYPES
from parley_common.worker import WorkerContext
from parley_notify.models import Device, Webhook

log = logging.getLogger("parley.notify.routing")

MESSAGE = "chat.message.created"
PURPOSE = "events"
MESSAGE_BINDINGS = (
    f"{MESSAGE}.agent.#",
    f"{MESSAGE}.bot.#",
    f"{MESSAGE}.system.#",
    f"{MESSAGE}.visitor.none.#",
    f"{MESSAGE}.visitor.agent.#",
    f"{MESSAGE}.visitor.bot.#",
    f"{MESSAGE}.visitor.system.#",
    f"{MESSAGE}.visitor.visitor.email.*",
    f"{MESSAGE}.visitor.visitor.contact_form.*",
)


def follow_ups_of(account_id: uuid.UUID) -> str:
    return f"{MESSAGE}.visitor.visitor.*.{account_id}"


async def bind_accounts(
    channel: AbstractChannel, namespace: str, account_ids: Iterable[uuid.UUID]
) -> None:
    """Let the worker receive these accounts' follow-ups (idempotent)."""
    await _bind(channel, namespace, PURPOSE, [follow_ups_of(a) for a in set(account_ids)])


async def _bind(
    channel: AbstractChannel, namespace: str, purpose: str, patterns: list[str]
) -> None:
    """Add routing-key bindings to one of notify's queues (declaring is idempotent)."""
    if patterns:
        name = broker.queue_name(namespace, "notify", purpose)
        await broker.declare_queue(channel, namespace, name, patterns)


async def bind_device_accounts(ctx: WorkerContext) -> None:
    """At worker start: a binding for every account with a device (devices registered while
    the queue did not exist, or before these bindings did)."""
    assert ctx.session_factory is not None
    async with ctx.session_factory() as session:
        accounts = (await session.scalars(select(Device.account_id).distinct())).all()
    await bind_accounts(ctx.channel, ctx.settings.namespace, accounts)


# Outgoing webhooks: the webhooks queue is bound only to what some enabled webhook subscribes
# to, so events nobody subscribed to (page views, arrivals... of every account) never reach the
# worker: an event type (every account's events of it) and, for messages, only the accounts
# that subscribed (one binding per account: messages carry their account in the routing key).
# A change to webhooks rebinds in its own transaction, under one advisory lock, so two changes
# (or a change and the worker's reconciliation) never undo each other's binding; the worker
# reconciles at start and every minute (webhooks disabled after failures, a binding made for a
# change whose commit then failed).
WEBHOOKS = "webhooks"
BINDINGS_LOCK = 0x5EB_400C  # pg_advisory_xact_lock key: "webhook bindings"
RECONCILE_SECONDS = 60


def messages_of(account_id: uuid.UUID) -> str:
    return f"{MESSAGE}.*.*.*.{account_id}"


async def subscriptions(session: AsyncSession) -> tuple[set[str], set[uuid.UUID]]:
    """Event types (messages aside) some enabled webhook subscribes to, and the accounts with
    an enabled webhook on messages."""
    enabled = Webhook.enabled.is_(True)
    types = await session.scalars(
        select(func.jsonb_array_elements_text(Webhook.events)).where(enabled).distinct()
    )
    accounts = await session.scalars(
        select(Webhook.account_id).where(enabled, Webhook.events.contains([MESSAGE])).distinct()
    )
    return set(types) - {MESSAGE}, set(accounts)


async def rebind_webhooks(
    session: AsyncSession,
    channel: AbstractChannel,
    namespace: str,
    accounts: Iterable[uuid.UUID] = (),
) -> set[uuid.UUID]:
    """Bind the webhooks queue to every subscribed event type and unbind the others, and bind
    or unbind ``accounts``' messages; in the transaction that changed webhooks (after its
    flush). Returns the accounts with a webhook on messages."""
    await session.execute(select(func.pg_advisory_xact_lock(BINDINGS_LOCK)))
    types, message_accounts = await subscriptions(session)
    exchange = await broker.declare_exchanges(channel, namespace)
    name = broker.queue_name(namespace, "notify", WEBHOOKS)
    queue = await broker.declare_queue(channel, namespace, name, ())
    for event_type in WEBHOOK_EVENT_TYPES:
        if event_type != MESSAGE:
            await _binding(queue, exchange, event_type, event_type in types)
    for account_id in set(accounts):
        await _binding(queue, exchange, messages_of(account_id), account_id in message_accounts)
    return message_accounts


async def _binding(queue: AbstractQueue, exchange: AbstractExchange, key: str, on: bool) -> None:
    if on:
        await queue.bind(exchange, key)
    else:
        await queue.unbind(exchange, key)


async def reconcile_webhook_bindings(ctx: WorkerContext) -> None:
    """Background job of the worker: the bindings of every subscription, now and every minute."""
    assert ctx.session_factory is not None
    accounts: set[uuid.UUID] = set()
    while True:
        try:
            async with ctx.session_factory() as session, session.begin():
                subscribed = (await subscriptions(session))[1]
                # Last round's accounts too: unbound if their webhooks went meanwhile.
                accounts = await rebind_webhooks(
                    session, ctx.channel, ctx.settings.namespace, accounts | subscribed
                )
        except Exception:
            log.exception("reconciling the webhooks queue's bindings failed; next try soon")
        await asyncio.sleep(RECONCILE_SECONDS)
