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

import uuid
from collections.abc import Iterable

from aio_pika.abc import AbstractChannel
from sqlalchemy import select

from parley_common.events import broker
from parley_common.worker import WorkerContext
from parley_notify.models import Device, Webhook

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


# Outgoing webhooks: messages reach the webhooks queue only for accounts with a webhook
# subscribed to them (bound when such a webhook is created or changed, and for all of them
# at worker start). The type's own binding is a key no message has (messages carry four
# routing words), so no account's messages come by default.
WEBHOOKS = "webhooks"
WEBHOOK_MESSAGE_BINDINGS = (f"{MESSAGE}.unbound",)


def messages_of(account_id: uuid.UUID) -> str:
    return f"{MESSAGE}.*.*.*.{account_id}"


async def bind_webhook_accounts(
    channel: AbstractChannel, namespace: str, account_ids: Iterable[uuid.UUID]
) -> None:
    """Let the webhooks queue receive these accounts' messages (idempotent)."""
    await _bind(channel, namespace, WEBHOOKS, [messages_of(a) for a in set(account_ids)])


async def bind_webhook_subscribers(ctx: WorkerContext) -> None:
    """At worker start: a binding for every account with a webhook on messages."""
    assert ctx.session_factory is not None
    async with ctx.session_factory() as session:
        accounts = (
            await session.scalars(
                select(Webhook.account_id).where(Webhook.events.contains([MESSAGE])).distinct()
            )
        ).all()
    await bind_webhook_accounts(ctx.channel, ctx.settings.namespace, accounts)
