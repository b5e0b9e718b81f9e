"""Inbound SMTP receiver: e-mail replies to conversations (`parley inbound-mail`).

A reply to an agent's e-mail goes to ``c-<conversation>-<signature>@<inbound domain>``. The
receiver refuses any other recipient at RCPT time, parses the mail, strips the quoted history
and appends the rest to the conversation as a visitor message with channel "email".
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import uuid
from contextlib import AsyncExitStack
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley_chat.config import ChatSettings, get_chat_settings
from parley_chat.email import mailer
from parley_chat.widget import service as widget
from parley_common.db import create_engine, create_session_factory
from parley_common.events.publisher import publish_what_commits
from parley_common.logging import configure_logging

log = logging.getLogger("parley.chat.inbound")

# Where quoted history starts in common clients' replies.
QUOTE_MARKERS = (
    re.compile(r"^On .{1,200} wrote:\s*$"),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^From: .+"),
    re.compile(r"^Le .{1,200} a écrit\s*:\s*$"),
    re.compile(r"^Am .{1,200} schrieb .{1,200}:\s*$"),
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: everything before the quoted history and the signature."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if stripped.startswith(">") or any(m.match(stripped) for m in QUOTE_MARKERS):
            break
        if stripped == "--":
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_subtype() == "html":
        content = re.sub(r"(?is)<(script|style|blockquote).*?</\1>", "", content)
        content = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content)
        content = re.sub(r"<[^>]+>", "", content)
    return str(content)


class InboundHandler:
    def __init__(
        self, settings: ChatSettings, session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if mailer.parse_reply_address(self.settings, address) is None:
            return "550 5.1.1 No such conversation address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            return "554 5.6.0 Unreadable message"
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text = strip_quoted(body_text(parsed))[: self.settings.message_max_length]
        if not text:
            return "250 OK (nothing new to add)"
        message_key = str(parsed.get("Message-ID") or "").strip()[:100] or None
        delivered = 0
        for address in envelope.rcpt_tos:
            conversation_id = mailer.parse_reply_address(self.settings, address)
            if conversation_id is not None and await self.deliver(
                conversation_id, text, message_key
            ):
                delivered += 1
        return "250 OK" if delivered else "550 5.1.1 No such conversation"

    async def deliver(self, conversation_id: uuid.UUID, text: str, message_key: str | None) -> bool:
        try:
            async with self.session_factory() as session, session.begin():
                return await widget.email_reply(session, conversation_id, text, message_key)
        except Exception:
            log.exception("storing an e-mail reply failed")
            raise


async def start_server(
    settings: ChatSettings, session_factory: async_sessionmaker[AsyncSession]
) -> asyncio.Server:
    handler = InboundHandler(settings, session_factory)
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(
            handler,
            hostname=settings.inbound_mail_domain,
            data_size_limit=settings.inbound_mail_max_bytes,
            enable_SMTPUTF8=True,
        )

    return await loop.create_server(
        protocol, host=settings.inbound_mail_host, port=settings.inbound_mail_port
    )


async def serve() -> None:
    settings = get_chat_settings()
    configure_logging("chat-inbound-mail", level=settings.log_level, json=settings.log_json)
    engine = create_engine(settings.database_url, pool_size=5)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        await publish_what_commits(stack, settings)
        server = await start_server(settings, create_session_factory(engine))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("inbound mail on %s:%s", settings.inbound_mail_host, settings.inbound_mail_port)
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()


def main() -> None:
    asyncio.run(serve())
