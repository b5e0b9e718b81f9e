"""The worker: projections fed by real events through RabbitMQ, chatting state in Redis."""

from __future__ import annotations

import uuid

import aio_pika

from parley_common.events import broker as broker_mod
from parley_common.events.envelope import Event
from parley_common.testing import eventually, make_agent
from parley_visitors.app import app as visitors_app


async def publish(broker, settings, event_type: str, account_id: uuid.UUID, data: dict) -> None:
    channel = await broker.channel()
    exchange = await channel.get_exchange(broker_mod.exchange_name(settings.namespace))
    event = Event(type=event_type, account_id=account_id, data=data)
    await exchange.publish(
        aio_pika.Message(event.model_dump_json().encode(), content_type="application/json"),
        routing_key=event_type,
    )
    await channel.close()


async def test_projections_through_the_broker(client, worker, broker, settings, open_widget):
    agent = make_agent()
    key = "wk_" + uuid.uuid4().hex[:16]
    async with worker("visitors"):
        await publish(
            broker,
            settings,
            "auth.account.created",
            agent.account_id,
            {
                "name": "Shop",
                "widget_key": key,
                "plan": "free",
                "settings": {
                    "general": {"language": "de"},
                    "design": {"color": "#000000"},
                    "contact_form": {"enabled": False},
                },
            },
        )

        async def settings_visible():
            resp = await client.get("/api/v1/widget/settings", params={"widget_key": key})
            return resp.json() if resp.status_code == 200 else None

        body = await eventually(settings_visible)
        assert body["general"] == {"language": "de"} and body["agents_online"] is False

        await publish(
            broker,
            settings,
            "auth.settings.updated",
            agent.account_id,
            {"section": "contact_form", "settings": {"enabled": True}, "widget_key": key},
        )
        await publish(
            broker,
            settings,
            "auth.agent.status_changed",
            agent.account_id,
            {"agent_id": str(agent.agent_id), "status": "online"},
        )

        async def updated():
            current = await settings_visible()
            return (
                current if current["agents_online"] and current["contact_form"]["enabled"] else None
            )

        await eventually(updated)

        class Site:
            widget_key = key

        session = await open_widget(Site)
        vid = session["visitor_id"]
        conversation = str(uuid.uuid4())
        await publish(
            broker,
            settings,
            "chat.conversation.created",
            agent.account_id,
            {"conversation_id": conversation, "visitor_id": vid},
        )

        async def chatting(expected: bool):
            resp = await client.get(f"/api/v1/visitors/{vid}", headers=agent.headers)
            live = await visitors_app.state.presence.get(agent.account_id, uuid.UUID(vid))
            return resp.json()["chatting"] is expected and live["chatting"] == (
                "1" if expected else "0"
            )

        await eventually(lambda: chatting(True))
        resp = await client.get("/api/v1/visitors?chatting=true", headers=agent.headers)
        assert [i["id"] for i in resp.json()["items"]] == [vid]

        await publish(
            broker,
            settings,
            "chat.conversation.resolved",
            agent.account_id,
            {"conversation_id": conversation, "visitor_id": vid},
        )
        await eventually(lambda: chatting(False))
