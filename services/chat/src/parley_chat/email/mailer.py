"""Conversation e-mail: the signed Reply-To address, e-mail replies and transcripts."""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
import uuid
from collections.abc import Sequence
from typing import Any

from parley_chat.config import ChatSettings
from parley_chat.errors import MailFailed
from parley_chat.messages.repository import MessageRow
from parley_common.mail import build_message, send_mail

log = logging.getLogger("parley.chat.mail")

REPLY_ADDRESS = re.compile(r"^c-([0-9a-f]{32})-([0-9a-f]{20})@(.+)$")


def _signature(secret: str, conversation_id: uuid.UUID) -> str:
    return hmac.new(secret.encode(), conversation_id.hex.encode(), hashlib.sha256).hexdigest()[:20]


def reply_address(settings: ChatSettings, conversation_id: uuid.UUID) -> str:
    sig = _signature(settings.reply_address_secret, conversation_id)
    return f"c-{conversation_id.hex}-{sig}@{settings.inbound_mail_domain}"


def parse_reply_address(settings: ChatSettings, address: str) -> uuid.UUID | None:
    """The conversation a Reply-To address names, or None if it is not ours or forged."""
    match = REPLY_ADDRESS.match(address.strip().strip("<>").lower())
    if match is None or match.group(3) != settings.inbound_mail_domain.lower():
        return None
    conversation_id = uuid.UUID(match.group(1))
    expected = _signature(settings.reply_address_secret, conversation_id)
    return conversation_id if hmac.compare_digest(expected, match.group(2)) else None


async def _send(settings: ChatSettings, **kwargs: Any) -> None:
    try:
        await send_mail(settings, build_message(settings, **kwargs))
    except Exception as exc:
        log.warning("sending mail failed: %r", exc)
        raise MailFailed("The mail server did not accept the message; try again later.") from exc


async def send_reply(
    settings: ChatSettings, *, to: str, conversation_id: uuid.UUID, agent_name: str, text: str
) -> None:
    """An agent's message to the visitor by e-mail; replies come back to the conversation."""
    await _send(
        settings,
        to=to,
        subject=f"Re: your conversation with {agent_name}",
        text=text,
        reply_to=reply_address(settings, conversation_id),
        headers={"X-Parley-Conversation": str(conversation_id)},
    )


def _line(message: MessageRow) -> str:
    at = message.created_at.strftime("%Y-%m-%d %H:%M")
    who = message.author_name or message.author_type.capitalize()
    extra = "".join(f"\n    [attachment: {a['name']}]" for a in message.attachments or [])
    return f"[{at}] {who}: {message.text}{extra}"


def transcript_bodies(messages: Sequence[MessageRow]) -> tuple[str, str]:
    """Plain text and HTML; every message text is escaped, nothing is rendered."""
    text = "\n".join(_line(m) for m in messages) or "(no messages)"
    rows = "".join(f"<p>{html.escape(_line(m)).replace(chr(10), '<br>')}</p>" for m in messages)
    page = (
        f"<!doctype html><html><body><h1>Conversation transcript</h1>"
        f"{rows or '<p>(no messages)</p>'}</body></html>"
    )
    return text, page


async def send_transcript(
    settings: ChatSettings, *, to: str, messages: Sequence[MessageRow]
) -> None:
    text, page = transcript_bodies(messages)
    await _send(settings, to=to, subject="Your conversation transcript", text=text, html=page)
