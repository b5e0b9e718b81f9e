"""What notify does with each APNs answer: delete tokens, retry through the delay queue,
dead-letter with the reason; every attempt recorded."""

from __future__ import annotations

import itertools
import time
import uuid

import orjson
from sqlalchemy import select

from parley_common.testing import eventually
from parley_notify.models import Device

from .conftest import deliveries_for, pushes_for, register


def message() -> dict[str, object]:
    return {
        "conversation_id": uuid.uuid4(),
        "message_id": uuid.uuid4(),
        "visitor_id": uuid.uuid4(),
        "author_type": "visitor",
        "text": "Hi",
        "channel": "chat",
    }


async def _settled(sessions, token, status):
    rows = await pushes_for(sessions, token)
    return rows if rows and rows[-1].status == status else None


async def _has_device(sessions, token):
    async with sessions() as session:
        return await session.scalar(select(Device).where(Device.token == token)) is not None


async def test_bad_device_token_deletes_the_token(api, agent, feed, apns, notify_worker, sessions):
    token = await register(api, agent)
    apns.answer(token, (400, "BadDeviceToken"))
    await feed("chat.message.created", agent.account_id, message())
    [push] = await eventually(lambda: _settled(sessions, token, "rejected"))
    assert push.reason == "BadDeviceToken"
    assert not await _has_device(sessions, token)
    assert [(d.status, d.reason) for d in await deliveries_for(sessions, push.id)] == [
        (400, "BadDeviceToken")
    ]
    # No device, no more pushes.
    await feed("chat.message.created", agent.account_id, message())
    assert len(await pushes_for(sessions, token)) == 1


async def test_device_token_not_for_topic_deletes_the_token(
    api, agent, feed, apns, notify_worker, sessions
):
    token = await register(api, agent, bundle_id="com.example.other")
    apns.answer(token, (400, "DeviceTokenNotForTopic"))
    await feed("chat.message.created", agent.account_id, message())
    await eventually(lambda: _settled(sessions, token, "rejected"))
    assert not await _has_device(sessions, token)


async def test_unregistered_after_registration_deletes_the_token(
    api, agent, feed, apns, notify_worker, sessions
):
    token = await register(api, agent)
    apns.answer(token, (410, "Unregistered", int(time.time() * 1000) + 60_000))
    await feed("chat.message.created", agent.account_id, message())
    [push] = await eventually(lambda: _settled(sessions, token, "rejected"))
    [delivery] = await deliveries_for(sessions, push.id)
    assert (delivery.status, delivery.reason) == (410, "Unregistered")
    assert delivery.apns_timestamp is not None
    assert not await _has_device(sessions, token)


async def test_unregistered_before_a_new_registration_keeps_the_token(
    api, agent, feed, apns, notify_worker, sessions
):
    """The app registered the token again after APNs saw it unregistered: keep it."""
    token = await register(api, agent)
    apns.answer(token, (410, "Unregistered", int(time.time() * 1000) - 3_600_000))
    await feed("chat.message.created", agent.account_id, message())
    await eventually(lambda: _settled(sessions, token, "rejected"))
    assert await _has_device(sessions, token)


async def test_429_is_retried_through_the_delay_queue(
    api, agent, feed, apns, notify_worker, sessions
):
    token = await register(api, agent)
    apns.answer(token, (429, "TooManyRequests"), (503, "ServiceUnavailable"), (200, None))
    await feed("chat.message.created", agent.account_id, message())
    [push] = await eventually(lambda: _settled(sessions, token, "sent"), timeout=15)
    deliveries = await deliveries_for(sessions, push.id)
    assert [(d.attempt, d.status) for d in deliveries] == [(1, 429), (2, 503), (3, 200)]
    assert len({d.apns_id for d in deliveries}) == 3
    # The backoff grows: 200 ms, then 800 ms.
    gaps = [
        (b.created_at - a.created_at).total_seconds() for a, b in itertools.pairwise(deliveries)
    ]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.8
    assert len(apns.for_token(token)) == 3
    assert await _has_device(sessions, token)


async def test_500_until_the_last_attempt_is_dead_lettered_with_the_reason(
    api, agent, feed, apns, notify_worker, sessions, broker, settings
):
    token = await register(api, agent)
    apns.answer(token, (500, "InternalServerError"))
    await feed("chat.message.created", agent.account_id, message())
    [push] = await eventually(lambda: _settled(sessions, token, "failed"), timeout=15)
    assert push.attempts == 3 and push.reason == "InternalServerError"
    assert [d.status for d in await deliveries_for(sessions, push.id)] == [500, 500, 500]
    assert await _has_device(sessions, token)

    channel = await broker.channel()
    queue = await channel.get_queue(f"{settings.namespace}.dead-letter")

    async def dead_lettered():
        while (msg := await queue.get(fail=False)) is not None:
            await msg.ack()
            body = orjson.loads(msg.body)
            if body.get("push_id") == str(push.id):
                return msg
        return None

    msg = await eventually(dead_lettered)
    assert msg.headers["x-reason"] == "InternalServerError"
    assert msg.routing_key == "notify.push.failed"
    await channel.close()
