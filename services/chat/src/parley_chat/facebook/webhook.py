"""The Messenger webhook: the verify challenge, signed events, and visitor messages from them.

Facebook retries a delivery it did not see answered with 200, so storing is idempotent by the
message's ``mid`` (the visitor's client_message_id). Echoes of the page's own messages,
delivery and read receipts are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat.config import ChatSettings
from parley_chat.errors import VisitorBlocked
from parley_chat.events import outbox
from parley_chat.facebook import repository as repo
from parley_chat.facebook.errors import InvalidPayload, InvalidSignature, VerificationFailed
from parley_chat.facebook.graph import GraphAPI
from parley_chat.facebook.schemas import GRAPH_ID, MessagingEvent, WebhookPayload
from parley_chat.messages.append import MESSENGER, append_message

log = logging.getLogger("parley.chat.facebook")

UNNAMED = "Messenger user"
IS_GRAPH_ID = re.compile(GRAPH_ID)


def verify_challenge(settings: ChatSettings, mode: str | None, token: str | None) -> None:
    expected = settings.facebook_verify_token
    if mode != "subscribe" or not expected or token is None:
        raise VerificationFailed()
    if not hmac.compare_digest(expected.encode(), token.encode()):
        raise VerificationFailed()


def check_signature(settings: ChatSettings, body: bytes, header: str | None) -> None:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed by app secret>``."""
    secret = settings.facebook_app_secret
    if not secret or not header or not header.startswith("sha256="):
        raise InvalidSignature()
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), header[len("sha256=") :].strip().encode()):
        raise InvalidSignature()


def parse(body: bytes) -> WebhookPayload:
    try:
        return WebhookPayload.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise InvalidPayload() from exc


def message_key(mid: str) -> str:
    """The client_message_id for a Messenger mid (hashed when longer than the column)."""
    return mid if len(mid) <= 100 else "fb:" + hashlib.sha256(mid.encode()).hexdigest()


def event_text(event: MessagingEvent) -> tuple[str, str] | None:
    """(mid, text) of a user's message or postback; None for what is not a visitor message."""
    if event.message is not None:
        if event.message.is_echo:
            return None
        lines = [event.message.text or ""]
        for attachment in event.message.attachments:
            url = (attachment.payload or {}).get("url")
            lines.append(
                f"[{attachment.type}] {url}" if isinstance(url, str) else f"[{attachment.type}]"
            )
        return event.message.mid, "\n".join(line for line in lines if line).strip()
    if event.postback is not None and event.postback.mid:
        return event.postback.mid, (event.postback.title or event.postback.payload or "").strip()
    return None


async def receive(
    session: AsyncSession, settings: ChatSettings, graph: GraphAPI, payload: WebhookPayload
) -> int:
    """Store every visitor message of the payload; returns how many were new."""
    if payload.object != "page":
        return 0
    stored = 0
    for entry in payload.entry:
        for event in entry.messaging:
            found = event_text(event)
            if found is None or not IS_GRAPH_ID.match(event.sender.id):
                continue
            mid, text = found
            text = text.replace("\x00", "").strip()[: settings.message_max_length]
            if text and await _store(
                session, settings, graph, event.recipient.id, event.sender.id, mid, text
            ):
                stored += 1
    return stored


async def _store(
    session: AsyncSession,
    settings: ChatSettings,
    graph: GraphAPI,
    page_id: str,
    psid: str,
    mid: str,
    text: str,
) -> bool:
    page = await repo.page_by_page_id(session, page_id)
    if page is None or psid == page_id:
        return False
    account_id = page.account_id
    contact = await repo.get_contact(session, account_id, page_id, psid)
    if contact is None:
        name, picture = await graph.profile(psid, page.access_token)
        contact, created = await repo.insert_contact(session, account_id, page_id, psid, name)
        await projections.upsert_visitor(
            session, account_id, contact.visitor_id, {"name": contact.name, "label": UNNAMED}
        )
        if created:
            # The visitors service makes the Messenger user a visitor (details, exports).
            await outbox.emit(
                session,
                "chat.contact.created",
                account_id,
                {
                    "visitor_id": contact.visitor_id,
                    "channel": "facebook",
                    "name": contact.name,
                    "avatar_url": picture,
                    "facebook": {"page_id": page_id, "psid": psid},
                },
            )
    try:
        appended = await append_message(
            session,
            MESSENGER,
            account_id=account_id,
            visitor_id=contact.visitor_id,
            text=text,
            client_message_id=message_key(mid),
        )
    except VisitorBlocked:
        return False
    return appended.created
