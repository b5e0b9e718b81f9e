"""Handlers the notify worker runs for other services' events."""

from __future__ import annotations

from parley_common.events.consumer import Consumer
from parley_notify import erasure, notifications, projections, routing, webhooks

CONSUMERS: list[Consumer] = [
    Consumer(
        routing.PURPOSE,
        {
            "auth.account.created": projections.on_account_created,
            "auth.settings.updated": projections.on_settings_updated,
            "auth.agent.created": projections.on_agent_upserted,
            "auth.agent.updated": projections.on_agent_upserted,
            "auth.agent.removed": projections.on_agent_removed,
            "auth.agent.status_changed": projections.on_agent_status_changed,
            "auth.session.revoked": projections.on_session_revoked,
            "visitors.visitor.arrived": notifications.on_visitor_arrived,
            "visitors.visitor.updated": projections.on_visitor_updated,
            "chat.conversation.created": projections.on_conversation_created,
            "chat.conversation.assigned": notifications.on_conversation_assigned,
            "chat.conversation.resolved": projections.on_conversation_resolved,
            "chat.conversation.reopened": projections.on_conversation_reopened,
            "chat.conversation.read": projections.on_conversation_read,
            "chat.message.created": notifications.on_message_created,
        },
        prefetch=64,
        bindings={routing.MESSAGE: routing.MESSAGE_BINDINGS},
    ),
    # Outgoing webhooks: every event an integrator may subscribe to becomes delivery rows.
    # No binding of its own: routing binds what some webhook subscribes to.
    Consumer(
        routing.WEBHOOKS,
        dict.fromkeys(webhooks.EVENT_TYPES, webhooks.on_event),
        bindings=dict.fromkeys(webhooks.EVENT_TYPES, ()),
    ),
    erasure.CONSUMER,
]
