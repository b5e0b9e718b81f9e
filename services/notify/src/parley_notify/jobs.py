"""Background jobs of the notify worker (``definition.SERVICE.background``)."""

from __future__ import annotations

import asyncio

from parley_common.worker import WorkerContext
from parley_notify import notifications
from parley_notify.config import get_notify_settings
from parley_notify.delivery import retry_pushes, send_pushes
from parley_notify.mail import mail_notifications
from parley_notify.routing import bind_device_accounts, reconcile_webhook_bindings
from parley_notify.wakes import listen
from parley_notify.webhook_sender import send_webhooks


async def close_visitor_bursts(ctx: WorkerContext) -> None:
    """Send the "N new visitors" summary when a burst window ends, sleeping until the next
    one ends (a window that opens meanwhile ends later: nothing needs to wake this job)."""
    assert ctx.session_factory is not None
    settings = get_notify_settings()
    interval = min(settings.sweep_interval_seconds, settings.visitor_burst_seconds / 4)
    while True:
        async with ctx.session_factory() as session, session.begin():
            await notifications.close_visitor_bursts(session)
            due_in = await notifications.seconds_until_burst_closes(session)
        await asyncio.sleep(max(due_in, interval))


BACKGROUND = [
    listen,
    bind_device_accounts,
    reconcile_webhook_bindings,
    send_pushes,
    retry_pushes,
    close_visitor_bursts,
    mail_notifications,
    send_webhooks,
]
