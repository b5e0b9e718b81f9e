"""The worker job that sends webhook deliveries: signed POSTs through one bounded client.

Due deliveries are claimed in batches (``FOR UPDATE SKIP LOCKED``, then leased by moving
``next_attempt_at`` ahead, so a crashed worker's batch is tried again later and two workers
never send the same one at once). Each batch is sent concurrently through one aiohttp session
(at most ``webhook_max_connections`` connections, ``webhook_timeout_seconds`` per request: a
receiver that never answers costs one timeout). Every attempt is recorded; a failure is
retried with exponential backoff until the retry window since its first attempt ends,
then the delivery fails, the webhook is disabled and the account's admins are e-mailed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common import sealed
from parley_common.worker import WorkerContext
from parley_notify import mail, repository
from parley_notify.config import NotifySettings, get_notify_settings
from parley_notify.models import Agent, Webhook, WebhookAttempt, WebhookDelivery
from parley_notify.wakes import wakes
from parley_notify.webhooks import address_allowed

log = logging.getLogger("parley.notify.webhooks")

LEASE = timedelta(minutes=2)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's resolver, refusing private, loopback and link-local answers: the address
    checked is the address connected to (no DNS rebinding between check and connect)."""

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        allowed = [a for a in answers if address_allowed(a["host"])]
        if not allowed:
            raise OSError(f"{host} resolves to no public address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


@dataclass
class Due:
    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    account_id: uuid.UUID
    event_type: str
    body: str
    attempts: int
    first_attempt_at: datetime
    url: str
    secret: str


@dataclass
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def claim(session: AsyncSession, limit: int) -> list[Due]:
    now = datetime.now(UTC)
    rows = (
        await session.execute(
            select(WebhookDelivery, Webhook.url, Webhook.secret)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                Webhook.enabled.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
    ).all()
    for delivery, _, _ in rows:
        delivery.next_attempt_at = now + LEASE
        delivery.first_attempt_at = delivery.first_attempt_at or now
    return [
        Due(
            d.id, d.webhook_id, d.account_id, d.event_type, d.body, d.attempts,
            d.first_attempt_at or now, u, s,
        )
        for d, u, s in rows
    ]  # fmt: skip


async def seconds_until_due(session: AsyncSession) -> float | None:
    """Seconds until the next pending delivery of an enabled webhook falls due (negative: due
    already; None: there is none)."""
    due = await session.scalar(
        select(func.min(WebhookDelivery.next_attempt_at))
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == "pending", Webhook.enabled.is_(True))
    )
    return None if due is None else (due - datetime.now(UTC)).total_seconds()


async def send(http: aiohttp.ClientSession, due: Due) -> Outcome:
    body = due.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Parley-Webhooks/1",
        "X-Parley-Event": due.event_type,
        "X-Parley-Delivery": str(due.delivery_id),
        "X-Parley-Signature": signature(sealed.unseal(due.secret), int(time.time()), body),
    }
    started = time.monotonic()
    try:
        async with http.post(due.url, data=body, headers=headers, allow_redirects=False) as resp:
            await resp.content.read(1024)  # the answer's body is not ours to keep
            status: int | None = resp.status
            error = None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
    except TimeoutError:
        status, error = None, "timed out"
    except (aiohttp.ClientError, OSError) as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(status, int((time.monotonic() - started) * 1000), error)


def next_attempt(settings: NotifySettings, due: Due, now: datetime) -> datetime | None:
    """When to try again after a failure, or None when the retry window (from the first
    attempt) is over."""
    if now - due.first_attempt_at >= timedelta(seconds=settings.webhook_retry_window_seconds):
        return None
    delay = min(
        settings.webhook_retry_base_seconds * 2**due.attempts, settings.webhook_retry_max_seconds
    )
    return now + timedelta(seconds=delay)


async def record(
    session: AsyncSession, settings: NotifySettings, due: Due, outcome: Outcome
) -> None:
    now = datetime.now(UTC)
    session.add(
        WebhookAttempt(
            id=uuid.uuid4(),
            delivery_id=due.delivery_id,
            webhook_id=due.webhook_id,
            account_id=due.account_id,
            attempted_at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
        )
    )
    retry_at = None if outcome.ok else next_attempt(settings, due, now)
    status = "succeeded" if outcome.ok else ("pending" if retry_at else "failed")
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == due.delivery_id)
        .values(attempts=due.attempts + 1, status=status, next_attempt_at=retry_at)
    )
    if status == "failed":
        await _give_up(session, due)


async def _give_up(session: AsyncSession, due: Due) -> None:
    """A day of failures: the webhook is disabled (once) and the admins told by e-mail."""
    disabled = await session.scalar(
        update(Webhook)
        .where(Webhook.id == due.webhook_id, Webhook.enabled.is_(True))
        .values(enabled=False, disabled_reason="failing", updated_at=datetime.now(UTC))
        .returning(Webhook.id)
    )
    if disabled is None:
        return
    admin_ids = set(
        await session.scalars(
            select(Agent.agent_id).where(
                Agent.account_id == due.account_id, Agent.role.in_(("owner", "admin"))
            )
        )
    )
    agents = await repository.account_agents(session, due.account_id)
    await mail.queue_webhook_disabled(
        session,
        account_id=due.account_id,
        delivery_id=due.delivery_id,
        webhook_id=due.webhook_id,
        url=due.url,
        recipients=[a for a in agents if a.agent_id in admin_ids],
    )


async def send_webhooks(ctx: WorkerContext) -> None:
    """Background job: claim due deliveries while connections are free and send each in its
    own task (one slow receiver holds one connection, not the others), forever. With nothing
    to claim it sleeps until the next delivery falls due, a new one is inserted (NOTIFY) or a
    send ends (a retry recorded, a connection free)."""
    assert ctx.session_factory is not None
    sealed.check()  # the secrets sign deliveries: refuse to start without their key
    settings = get_notify_settings()
    wake = wakes(ctx).webhooks
    connector = aiohttp.TCPConnector(
        limit=settings.webhook_max_connections, resolver=PublicOnlyResolver()
    )
    timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds)
    in_flight: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        try:
            while True:
                free = settings.webhook_max_connections - len(in_flight)
                batch: list[Due] = []
                due_in: float | None = settings.webhook_poll_seconds  # all connections busy
                if free > 0:
                    async with ctx.session_factory() as session, session.begin():
                        batch = await claim(session, min(free, settings.webhook_batch_size))
                        if not batch:
                            due_in = await seconds_until_due(session)
                for due in batch:
                    task = asyncio.create_task(_deliver(ctx, settings, http, due))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if not batch:
                    await wake.sleep(due_in, floor=settings.webhook_poll_seconds)
        finally:
            for task in in_flight:
                task.cancel()


async def _deliver(
    ctx: WorkerContext, settings: NotifySettings, http: aiohttp.ClientSession, due: Due
) -> None:
    assert ctx.session_factory is not None
    outcome = await send(http, due)
    try:
        async with ctx.session_factory() as session, session.begin():
            await record(session, settings, due, outcome)
    except Exception:
        # Not recorded: the lease ends and the delivery is sent again (same delivery id).
        log.exception("recording webhook delivery %s failed", due.delivery_id)
    wakes(ctx).webhooks.set()  # its retry time is the next due, or a connection is free
