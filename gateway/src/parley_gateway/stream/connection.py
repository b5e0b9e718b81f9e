"""One open websocket: a writer draining the subscriber's queue, a reader for client frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect

from parley_common.stream_frames import CLOSE_CODES, ErrorFrame, PongFrame, StreamErrorCode
from parley_gateway.stream.hub import Hub
from parley_gateway.stream.subscriber import CLOSE_DISCONNECTED, CLOSE_UNAVAILABLE, Subscriber

log = logging.getLogger("parley.stream")

MAX_CLIENT_FRAME = 4096
TYPING_INTERVAL = 0.3  # seconds between two typing frames a socket may publish


async def serve(
    websocket: WebSocket, hub: Hub, sub: Subscriber, since: int | None, epoch: str | None
) -> None:
    await websocket.accept()
    reader = asyncio.create_task(_read(websocket, hub, sub, since, epoch))
    try:
        while (frame := await sub.next_frame()) is not None:
            await websocket.send_text(frame)
        code = sub.close_code
        if code is not None and code != CLOSE_DISCONNECTED:
            # A stalled client may never let the close frame out: do not wait for it forever.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(websocket.close(code, CLOSE_CODES.get(code)), 2)
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass
    finally:
        sub.close(CLOSE_DISCONNECTED)
        hub.leave(sub)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def _read(
    websocket: WebSocket, hub: Hub, sub: Subscriber, since: int | None, epoch: str | None
) -> None:
    try:
        await hub.open(sub, since, epoch)
        while sub.close_code is None:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            await _client_frame(hub, sub, text)
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass
    except (RedisError, TimeoutError) as exc:
        log.warning("stream unavailable for a socket (%r); closing it so it resumes", exc)
        sub.close(CLOSE_UNAVAILABLE)
    except Exception:
        log.exception("stream socket failed")
        sub.close(CLOSE_UNAVAILABLE)
    finally:
        sub.close(CLOSE_DISCONNECTED)


async def _client_frame(hub: Hub, sub: Subscriber, text: str) -> None:
    if len(text) > MAX_CLIENT_FRAME:
        sub.push_json(_error("frame_too_large", f"Frames are at most {MAX_CLIENT_FRAME} bytes."))
        return
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        frame = None
    if not isinstance(frame, dict):
        sub.push_json(_error("bad_frame", "Send a JSON object with a `type`."))
        return
    kind = frame.get("type")
    if kind == "ping":
        sub.push_json(PongFrame(type="pong"))
    elif kind == "typing":
        await _typing(hub, sub, frame)
    else:
        sub.push_json(_error("unknown_frame", "Known frame types: ping, typing."))


async def _typing(hub: Hub, sub: Subscriber, frame: dict[str, Any]) -> None:
    conversation = frame.get("conversation_id")
    is_typing = frame.get("is_typing", True)
    if not isinstance(is_typing, bool):
        sub.push_json(_error("bad_frame", "`is_typing` is a boolean."))
        return
    if conversation is not None:
        try:
            conversation = str(uuid.UUID(str(conversation)))
        except ValueError:
            sub.push_json(_error("bad_frame", "`conversation_id` is a UUID."))
            return
    elif not sub.is_visitor:
        sub.push_json(_error("bad_frame", "`conversation_id` is required."))
        return
    now = time.monotonic()
    if now - sub.last_typing < TYPING_INTERVAL:
        return  # typing is a hint: extra frames are dropped, not queued
    sub.last_typing = now
    if not await hub.publish_typing(sub, conversation, is_typing):
        sub.push_json(_error("conversation_not_found", "No such conversation."))


def _error(code: StreamErrorCode, detail: str) -> ErrorFrame:
    return ErrorFrame(type="error", code=code, detail=detail)
