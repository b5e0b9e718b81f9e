"""Connecting a Facebook page to an account, disconnecting it, and sending agent replies."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.facebook import repository as repo
from parley_chat.facebook.errors import (
    FacebookAttachmentsUnsupported,
    FacebookNotConnected,
    FacebookPageDisconnected,
    FacebookPageInvalid,
    FacebookPageTaken,
    FacebookSendFailed,
    FacebookUnavailable,
)
from parley_chat.facebook.graph import GraphAPI, GraphError
from parley_chat.facebook.repository import PageRow
from parley_common.security import AgentPrincipal

log = logging.getLogger("parley.chat.facebook")


def page_out(row: PageRow) -> dict[str, Any]:
    return {
        "page_id": row.page_id,
        "page_name": row.page_name,
        "status": row.status,
        "token_last4": row.access_token[-4:],
        "connected_by": row.connected_by,
        "connected_at": row.connected_at,
        "updated_at": row.updated_at,
    }


def _graph_failure(exc: GraphError) -> Exception:
    if exc.refused:
        return FacebookPageInvalid(f"Facebook said: {exc.message}")
    return FacebookUnavailable(f"{exc.message} Try again later.")


async def get(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    row = await repo.get_page(session, account_id)
    if row is None:
        raise FacebookNotConnected()
    return page_out(row)


async def connect(
    session: AsyncSession, graph: GraphAPI, admin: AgentPrincipal, page_id: str, token: str
) -> dict[str, Any]:
    """Verify the token on Graph, subscribe our app to the page's messages, store the page.

    Connecting another page replaces the account's previous one (which is unsubscribed).
    """
    owner = await repo.page_by_page_id(session, page_id)
    if owner is not None and owner.account_id != admin.account_id:
        raise FacebookPageTaken()
    try:
        page = await graph.page(page_id, token)
    except GraphError as exc:
        raise _graph_failure(exc) from exc
    if str(page.get("id")) != page_id:
        raise FacebookPageInvalid("The access token does not belong to this page.")
    try:
        await graph.subscribe(page_id, token)
    except GraphError as exc:
        raise _graph_failure(exc) from exc
    previous = await repo.get_page(session, admin.account_id)
    try:
        async with session.begin_nested():
            row = await repo.save_page(
                session,
                admin.account_id,
                page_id=page_id,
                page_name=str(page.get("name") or "")[:200] or None,
                access_token=token,
                connected_by=admin.agent_id,
            )
    except IntegrityError as exc:  # another account connected the page meanwhile
        raise FacebookPageTaken() from exc
    if previous is not None and previous.page_id != page_id:
        await _unsubscribe(graph, previous)
    return page_out(row)


async def disconnect(session: AsyncSession, graph: GraphAPI, account_id: uuid.UUID) -> None:
    """Remove the page; Graph is told to stop sending its messages (best effort: a revoked
    token must not keep the account from disconnecting)."""
    row = await repo.get_page(session, account_id)
    if row is None:
        raise FacebookNotConnected()
    await repo.delete_page(session, account_id)
    await _unsubscribe(graph, row)


async def _unsubscribe(graph: GraphAPI, row: PageRow) -> None:
    try:
        await graph.unsubscribe(row.page_id, row.access_token)
    except GraphError as exc:
        log.warning("unsubscribing page %s failed: %s", row.page_id, exc.message)


async def check_reply(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID, attachments: bool
) -> None:
    """Refuse, before anything is stored, a reply Messenger cannot take."""
    if attachments:
        raise FacebookAttachmentsUnsupported()
    await _recipient(session, account_id, visitor_id)


async def _recipient(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> tuple[PageRow, str]:
    contact = await repo.contact_by_visitor(session, account_id, visitor_id)
    page = await repo.get_page(session, account_id)
    if contact is None or page is None or page.page_id != contact.page_id:
        raise FacebookPageDisconnected("Reconnect the page to answer this conversation.")
    return page, contact.psid


async def send(
    session: AsyncSession,
    graph: GraphAPI,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    message: Any,
) -> None:
    """Send a stored agent's or bot's message to the Messenger user (the chat worker, after
    commit); raises a ``DomainError`` when it cannot be delivered."""
    if message.attachments:
        raise FacebookAttachmentsUnsupported()
    page, psid = await _recipient(session, account_id, visitor_id)
    try:
        await graph.send_text(page.page_id, page.access_token, psid, message.text)
    except GraphError as exc:
        log.warning("Messenger send failed (%s): %s", exc.status, exc.message)
        raise FacebookSendFailed(f"Facebook said: {exc.message}") from exc
