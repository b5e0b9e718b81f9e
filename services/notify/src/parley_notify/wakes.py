"""The notify worker's wakes (``parley_common.wake``): its jobs sleep until their next due row
or until an insert (NOTIFY) or their own process wakes them, instead of polling every second."""

from __future__ import annotations

from dataclasses import dataclass

from parley_common.wake import Listener, Wake
from parley_common.worker import WorkerContext
from parley_notify.config import get_notify_settings

# The channels the notify migrations' triggers NOTIFY on insert.
PUSH_CHANNEL = "parley_notify_push"
WEBHOOK_CHANNEL = "parley_notify_webhook"
MAIL_CHANNEL = "parley_notify_mail"


@dataclass
class NotifyWakes:
    pushes: Wake
    webhooks: Wake
    mail: Wake


def wakes(ctx: WorkerContext) -> NotifyWakes:
    """This worker's wakes, made on first use."""
    found = ctx.state.get("wakes")
    if found is None:
        settings = get_notify_settings()
        safety, fallback = settings.wake_safety_seconds, settings.sweep_interval_seconds
        found = ctx.state["wakes"] = NotifyWakes(
            pushes=Wake(PUSH_CHANNEL, safety, fallback),
            webhooks=Wake(WEBHOOK_CHANNEL, safety, fallback),
            mail=Wake(MAIL_CHANNEL, safety, fallback),
        )
    assert isinstance(found, NotifyWakes)
    return found


async def listen(ctx: WorkerContext) -> None:
    """Background job: the worker's one LISTEN connection, waking the jobs above."""
    w = wakes(ctx)
    await Listener(ctx.settings.database_url, [w.pushes, w.webhooks, w.mail]).run()
