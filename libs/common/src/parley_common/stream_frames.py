"""The stream's frames (websocket, JSON text): what the gateway sends and what a client may send.

TypedDicts, so the code that builds a frame is type-checked against them at no cost per frame,
and the gateway's ``/asyncapi.json`` is generated from these same classes: the documented
protocol is the one sent. The ``data`` of an event frame is the event's payload model in
``parley_common.events.catalogue``.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

# typing_extensions: pydantic needs its TypedDict on Python < 3.12 to build the schemas.
from typing_extensions import TypedDict


class HelloFrame(TypedDict):
    """First frame on every socket: the position the stream goes on from."""

    type: Literal["hello"]
    epoch: str
    seq: int


class EventBody(TypedDict):
    """An event frame without its position (the sequencer adds ``type``, ``seq``, ``epoch``)."""

    event: str
    account_id: str
    occurred_at: str | None
    id: str
    data: dict[str, Any]


class EventFrame(EventBody):
    """An event, in ``seq`` order with no gaps or duplicates; ``event`` names its type and
    ``data`` is that type's payload. Remember ``epoch`` and ``seq`` to resume."""

    type: Literal["event"]
    seq: int
    epoch: str


class ResetFrame(TypedDict):
    """The requested position is outside the replay window or the epoch changed: refetch over
    REST; the stream goes on from ``seq``."""

    type: Literal["reset"]
    epoch: str
    seq: int


class TypingFrame(TypedDict):
    """Someone is typing in a conversation (unsequenced, never replayed). The same frame
    whether it came over REST (``POST .../typing``: ``author_name`` set) or over a socket
    (``is_typing`` may be false; ``author_name`` is null). Built by
    ``parley_common.contracts.typing_frame``."""

    type: Literal["typing"]
    conversation_id: str | None
    visitor_id: str | None
    author_type: Literal["agent", "visitor"]
    author_id: str | None
    author_name: str | None
    is_typing: bool


class PongFrame(TypedDict):
    """The answer to a client's ``ping``."""

    type: Literal["pong"]


StreamErrorCode = Literal["frame_too_large", "bad_frame", "unknown_frame", "conversation_not_found"]


class ErrorFrame(TypedDict):
    """A client frame was refused; the socket stays open."""

    type: Literal["error"]
    code: StreamErrorCode
    detail: str


class PingFrame(TypedDict):
    """Client → server: answered with ``pong``."""

    type: Literal["ping"]


class ClientTypingFrame(TypedDict):
    """Client → server: the sender is typing (``is_typing`` false: stopped). Agents name the
    conversation; a visitor's socket has only its own."""

    type: Literal["typing"]
    conversation_id: NotRequired[str]
    is_typing: NotRequired[bool]


SERVER_FRAMES: dict[str, type] = {
    "hello": HelloFrame,
    "reset": ResetFrame,
    "typing": TypingFrame,
    "pong": PongFrame,
    "error": ErrorFrame,
}
CLIENT_FRAMES: dict[str, type] = {"ping": PingFrame, "clientTyping": ClientTypingFrame}

CLOSE_REVOKED = 4001
CLOSE_TOO_SLOW = 4008
CLOSE_TOO_MANY = 4029
CLOSE_UNAVAILABLE = 1011
CLOSE_RESTARTING = 1012
CLOSE_CODES: dict[int, str] = {
    CLOSE_REVOKED: "unauthorized: session revoked or agent removed (sign in again)",
    CLOSE_TOO_SLOW: "too slow: reconnect with since= to resume",
    CLOSE_TOO_MANY: "too many open sockets for this address, visitor or agent (the reason says "
    "which): close one before opening another",
    CLOSE_UNAVAILABLE: "stream unavailable: reconnect with since= to resume",
    CLOSE_RESTARTING: "server restarting: reconnect with since= to resume",
}
