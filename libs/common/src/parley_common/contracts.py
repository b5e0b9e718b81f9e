"""What two Parley processes must agree on, in one place: ports, Redis channel names shared
between a service and the gateway, and the typing frame both of them publish.

The event catalogue (``events/catalogue.py``) and the stream's frames (``stream_frames.py``,
rendered as the AsyncAPI document) are the other contracts; this module holds the small ones
that used to be string literals in two places.
"""

from __future__ import annotations

import uuid
from typing import Literal

from parley_common.stream_frames import TypingFrame

# The public port is nginx's (`parley nginx`); the Python gateway serves behind it.
PUBLIC_PORT = 8000
# Each process's default port (``parley serve <name>``; ``PARLEY_<NAME>_URL`` for callers).
SERVICE_PORTS = {
    "gateway": 8100,
    "auth": 8101,
    "chat": 8102,
    "visitors": 8103,
    "notify": 8104,
    "bots": 8105,
}


def typing_channel(namespace: str, account_id: uuid.UUID | str) -> str:
    """The Redis pub/sub channel of an account's typing frames: chat (``POST .../typing``)
    and the gateway (a socket's typing frame) publish to it, the gateway fans it out."""
    return f"{namespace}:typing:{account_id}"


def typing_frame(
    *,
    conversation_id: uuid.UUID | str | None,
    visitor_id: uuid.UUID | str | None,
    author_type: Literal["agent", "visitor"],
    author_id: uuid.UUID | str | None,
    author_name: str | None,
    is_typing: bool = True,
) -> TypingFrame:
    """The one typing frame, whichever way it came in (REST or the socket)."""

    def text(value: uuid.UUID | str | None) -> str | None:
        return None if value is None else str(value)

    return TypingFrame(
        type="typing",
        conversation_id=text(conversation_id),
        visitor_id=text(visitor_id),
        author_type=author_type,
        author_id=text(author_id),
        author_name=author_name,
        is_typing=is_typing,
    )
