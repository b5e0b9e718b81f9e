"""Sending pushes: claim pending rows, hand them to APNs, record every attempt, act on answers.

- 200: sent.
- 410 Unregistered (the token was unregistered after we last registered it), 400 BadDeviceToken
  or DeviceTokenNotForTopic: the token is deleted; the push is ``rejected``.
- 429, 5xx, no answer: retried with backoff through a RabbitMQ delay queue (message TTL, then
  dead-lettered into the retry queue); after the last attempt the push is ``failed`` and
  published to the dead-letter exchange with the reason.
- anything else (e.g. 413 PayloadTooLarge, 403 InvalidProviderToken): ``failed``.
Every attempt is a row in ``deliveries`` (apns-id, status, reason), so "why didn't I get a
push" has an answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import aio_pika
import orjson
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley_common.events import broker
from parley_common.metrics import PUSH_OUTCOMES
from parley_common.worker import WorkerContext
from parley_notify import repository
from parley_notify.apns import Answer, APNsClient, Notification
from parley_notify.config import NotifySettings, get_notify_settings
from parley_notify.models import Delivery, Push
from parley_notify.wakes import wakes

log = logging.getLogger("parley.notify.delivery")

STUCK_SECONDS = 5  # a push ``sending`` this long was left by a worker that died mid-send
RETRY_PURPOSE = "push-retry"
TOKEN_REJECTED = ("BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered")
Outcome = Literal["sent", "token_gone", "retry", "failed"]


def outcome(answer: Answer) -> Outcome:
    if answer.status == 200:
        return "sent"
    if answer.status == 410 or answer.reason in TOKEN_REJECTED:
        return "token_gone"
    if answer.reason == "NotConfigured":
        return "failed"
    if answer.status in (0, 429) or answer.status >= 500:
        return "retry"
    return "failed"


def retry_delay_ms(settings: NotifySettings, attempts: int) -> int:
    """Backoff before the next attempt after ``attempts`` failed ones: base, 4x base, ..."""
    return int(min(settings.push_retry_base_ms * 4 ** (attempts - 1), settings.push_retry_max_ms))


def apns_client(ctx: WorkerContext) -> APNsClient:
    client = ctx.state.get("apns")
    if client is None:
        client = ctx.state["apns"] = APNsClient(get_notify_settings())
    assert isinstance(client, APNsClient)
    return client


def _notification(push: Push) -> Notification:
    return Notification(
        token=push.token,
        environment=push.environment,
        topic=push.topic,
        payload=push.payload,
        collapse_id=push.collapse_id,
        priority=push.priority,
    )


class PushSender:
    """Delivers pushes for one worker process; several workers share the work (SKIP LOCKED)."""

    def __init__(self, ctx: WorkerContext, settings: NotifySettings | None = None) -> None:
        assert ctx.session_factory is not None
        self.ctx = ctx
        self.settings = settings or get_notify_settings()
        self.sessions: async_sessionmaker[AsyncSession] = ctx.session_factory
        self.apns = apns_client(ctx)
        self.namespace = ctx.settings.namespace
        self.retry_queue = broker.queue_name(self.namespace, "notify", RETRY_PURPOSE)
        self.wake = wakes(ctx).pushes

    # --- pending pushes ---------------------------------------------------------------------
    async def run_pending(self) -> None:
        """Send pending pushes as they are committed (the insert's NOTIFY wakes this), and
        hand out stuck ones again every STUCK_SECONDS."""
        requeued = time.monotonic()
        while True:
            sent = await self.send_pending()
            if sent >= self.settings.push_batch_size:
                continue
            await self.wake.sleep(requeued + STUCK_SECONDS - time.monotonic())
            if time.monotonic() - requeued >= STUCK_SECONDS:
                await self._requeue_stuck()
                requeued = time.monotonic()

    async def send_pending(self) -> int:
        """Claim and deliver one batch of pending pushes; returns how many were claimed."""
        async with self.sessions() as session, session.begin():
            oldest = (
                select(Push.id)
                .where(Push.status == "pending")
                .order_by(Push.created_at)
                .limit(self.settings.push_batch_size)
                .with_for_update(skip_locked=True)
            )
            pushes = list(
                await session.scalars(
                    update(Push)
                    .where(Push.id.in_(oldest.scalar_subquery()))
                    .values(status="sending", attempts=Push.attempts + 1, updated_at=func.now())
                    .returning(Push),
                    execution_options={"populate_existing": True},
                )
            )
        if pushes:
            await self.deliver(pushes)
        return len(pushes)

    async def _requeue_stuck(self) -> None:
        """A worker that died mid-send leaves rows in ``sending``; hand them out again."""
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Push)
                .where(
                    Push.status == "sending",
                    Push.updated_at < func.now() - func.make_interval(0, 0, 0, 0, 0, STUCK_SECONDS),
                )
                .values(status="pending")
            )

    # --- one attempt for a batch ------------------------------------------------------------
    async def deliver(self, pushes: list[Push]) -> None:
        answers = await asyncio.gather(*(self.apns.send(_notification(p)) for p in pushes))
        retries: list[Push] = []
        dead: list[tuple[Push, str]] = []
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(Delivery),
                [
                    {
                        "id": uuid.uuid4(),
                        "push_id": p.id,
                        "account_id": p.account_id,
                        "attempt": p.attempts,
                        "apns_id": a.apns_id,
                        "status": a.status,
                        "reason": a.reason,
                        "apns_timestamp": a.timestamp,
                    }
                    for p, a in zip(pushes, answers, strict=True)
                ],
            )
            changes: list[dict[str, Any]] = []
            for push, answer in zip(pushes, answers, strict=True):
                result = outcome(answer)
                PUSH_OUTCOMES.labels(result).inc()
                status = {
                    "sent": "sent",
                    "token_gone": "rejected",
                    "failed": "failed",
                    "retry": "retrying",
                }[result]
                if result == "token_gone":
                    await repository.delete_device_if_registered_before(
                        session,
                        account_id=push.account_id,
                        token=push.token,
                        before_ms=answer.timestamp if answer.status == 410 else None,
                    )
                elif result == "retry" and push.attempts >= self.settings.push_max_attempts:
                    status = "failed"
                    dead.append((push, answer.reason or f"HTTP {answer.status}"))
                elif result == "retry":
                    retries.append(push)
                changes.append(
                    {
                        "id": push.id,
                        "status": status,
                        "updated_at": datetime.now(UTC),
                        "reason": answer.reason,
                    }
                )
            await session.execute(update(Push), changes)
        for push in retries:
            await self._schedule_retry(push)
        for push, reason in dead:
            await self._dead_letter(push, reason)

    async def _schedule_retry(self, push: Push) -> None:
        delay = retry_delay_ms(self.settings, push.attempts)
        name = broker.queue_name(self.namespace, "notify", f"push-delay-{delay}ms")
        await broker.declare_delay_queue(
            self.ctx.channel, name, delay_ms=delay, target_queue=self.retry_queue
        )
        await self.ctx.channel.default_exchange.publish(
            aio_pika.Message(
                orjson.dumps({"push_id": str(push.id)}),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=f"{push.id}:{push.attempts}",
            ),
            routing_key=name,
        )

    async def _dead_letter(self, push: Push, reason: str) -> None:
        log.warning("push %s failed after %d attempts: %s", push.id, push.attempts, reason)
        exchange = await self.ctx.channel.get_exchange(
            broker.dead_letter_exchange_name(self.namespace)
        )
        body = {
            "push_id": str(push.id),
            "account_id": str(push.account_id),
            "event_id": str(push.event_id),
            "kind": push.kind,
            "attempts": push.attempts,
            "reason": reason,
        }
        await exchange.publish(
            aio_pika.Message(
                orjson.dumps(body),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={"x-reason": reason, "x-service": "notify"},
            ),
            routing_key="notify.push.failed",
        )

    # --- retries ----------------------------------------------------------------------------
    async def run_retries(self) -> None:
        channel = await self.ctx.connection.channel()
        await channel.set_qos(prefetch_count=64)
        queue = await broker.declare_queue(channel, self.namespace, self.retry_queue, ())
        await queue.consume(self._on_retry)
        await asyncio.Future()  # consume until cancelled

    async def _on_retry(self, message: AbstractIncomingMessage) -> None:
        async with message.process(requeue=True):
            push_id = uuid.UUID(orjson.loads(message.body)["push_id"])
            async with self.sessions() as session, session.begin():
                push = await session.scalar(
                    update(Push)
                    .where(Push.id == push_id, Push.status == "retrying")
                    .values(status="sending", attempts=Push.attempts + 1, updated_at=func.now())
                    .returning(Push),
                    execution_options={"populate_existing": True},
                )
            if push is not None:  # a duplicate retry message finds it no longer retrying
                await self.deliver([push])


def _sender(ctx: WorkerContext) -> PushSender:
    sender = ctx.state.get("push_sender")
    if sender is None:
        sender = ctx.state["push_sender"] = PushSender(ctx)
    assert isinstance(sender, PushSender)
    return sender


async def send_pushes(ctx: WorkerContext) -> None:
    """Background job: deliver pending pushes as soon as they are committed."""
    await _sender(ctx).run_pending()


async def retry_pushes(ctx: WorkerContext) -> None:
    """Background job: consume the retry queue the delay queues dead-letter into."""
    await _sender(ctx).run_retries()
