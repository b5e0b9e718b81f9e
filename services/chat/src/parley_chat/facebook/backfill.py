"""`parley backfill-messenger-visitors`: Messenger users chat knew before the visitors service
did (contacts stored before ``chat.contact.created`` existed) become visitors.

For every Messenger contact chat holds, the profile (name, picture) is asked from Graph again
with the page's token and ``chat.contact.created`` is emitted, as when a contact first writes.
The visitors service creates each visitor it does not know and ignores the others, so the
command can run any number of times; the events leave through chat's outbox (the chat worker
publishes them). A contact whose page is no longer connected, or whose profile Graph refuses,
is still sent, with the name chat has and no picture.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.config import get_chat_settings
from parley_chat.events import outbox
from parley_chat.facebook.graph import GraphAPI, graph_client
from parley_chat.facebook.models import FacebookContact, FacebookPage
from parley_common.db import create_engine, create_session_factory

BATCH = 100


async def contact_batch(
    session: AsyncSession, after: tuple[uuid.UUID, str, str] | None
) -> list[Any]:
    """The next contacts in key order, each with its account's page token (None if gone)."""
    query = (
        select(FacebookContact, FacebookPage.access_token)
        .outerjoin(
            FacebookPage,
            (FacebookPage.account_id == FacebookContact.account_id)
            & (FacebookPage.page_id == FacebookContact.page_id),
        )
        .order_by(FacebookContact.account_id, FacebookContact.page_id, FacebookContact.psid)
        .limit(BATCH)
    )
    if after is not None:
        key = (FacebookContact.account_id, FacebookContact.page_id, FacebookContact.psid)
        query = query.where(tuple_(*key) > tuple_(*after))
    return list((await session.execute(query)).all())


async def emit_contact(session: AsyncSession, graph: GraphAPI, row: Any) -> None:
    contact: FacebookContact = row[0]
    token: str | None = row[1]
    name, picture = await graph.profile(contact.psid, token) if token else (None, None)
    await outbox.emit(
        session,
        "chat.contact.created",
        contact.account_id,
        {
            "visitor_id": contact.visitor_id,
            "channel": "facebook",
            "name": name or contact.name,
            "avatar_url": picture,
            "facebook": {"page_id": contact.page_id, "psid": contact.psid},
        },
    )


async def backfill(session_factory: Any, graph: GraphAPI) -> int:
    """Emit ``chat.contact.created`` for every Messenger contact, a transaction per batch."""
    sent, after = 0, None
    while True:
        async with session_factory() as session, session.begin():
            rows = await contact_batch(session, after)
            for row in rows:
                await emit_contact(session, graph, row)
        sent += len(rows)
        if len(rows) < BATCH:
            return sent
        last = rows[-1][0]
        after = (last.account_id, last.page_id, last.psid)


async def run() -> int:
    """The command: this deployment's database and Graph."""
    settings = get_chat_settings()
    engine = create_engine(settings.database_url, pool_size=1)
    client = graph_client()
    try:
        graph = GraphAPI(client, settings.facebook_app_secret)
        return await backfill(create_session_factory(engine), graph)
    finally:
        await client.aclose()
        await engine.dispose()
