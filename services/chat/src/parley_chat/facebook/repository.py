"""SQL of the Facebook integration: connected pages and Messenger contacts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.facebook.models import FacebookContact, FacebookPage

pages = FacebookPage.__table__
contacts = FacebookContact.__table__


async def get_page(session: AsyncSession, account_id: uuid.UUID) -> Any:
    stmt = select(pages).where(pages.c.account_id == account_id)
    return (await session.execute(stmt)).first()


async def page_by_page_id(session: AsyncSession, page_id: str) -> Any:
    """Any account's page: only for the signed webhook, which names a page, not an account."""
    return (await session.execute(select(pages).where(pages.c.page_id == page_id))).first()


async def save_page(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    page_id: str,
    page_name: str | None,
    access_token: str,
    connected_by: uuid.UUID,
) -> Any:
    """Insert or replace the account's page; raises IntegrityError if another account has it."""
    now = datetime.now(UTC)
    values = {
        "page_id": page_id,
        "page_name": page_name,
        "access_token": access_token,
        "status": "connected",
        "connected_by": connected_by,
        "updated_at": now,
    }
    stmt = (
        pg_insert(pages)
        .values(account_id=account_id, connected_at=now, **values)
        .on_conflict_do_update(index_elements=["account_id"], set_=values)
        .returning(pages)
    )
    return (await session.execute(stmt)).one()


async def delete_page(session: AsyncSession, account_id: uuid.UUID) -> None:
    await session.execute(delete(pages).where(pages.c.account_id == account_id))


async def get_contact(session: AsyncSession, account_id: uuid.UUID, page_id: str, psid: str) -> Any:
    stmt = select(contacts).where(
        contacts.c.account_id == account_id,
        contacts.c.page_id == page_id,
        contacts.c.psid == psid,
    )
    return (await session.execute(stmt)).first()


async def contact_by_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> Any:
    stmt = select(contacts).where(
        contacts.c.account_id == account_id, contacts.c.visitor_id == visitor_id
    )
    return (await session.execute(stmt)).first()


async def insert_contact(
    session: AsyncSession, account_id: uuid.UUID, page_id: str, psid: str, name: str | None
) -> tuple[Any, bool]:
    """The contact for (page, PSID), created with a new visitor id unless it exists already;
    and whether this call created it."""
    stmt = (
        pg_insert(contacts)
        .values(
            account_id=account_id,
            page_id=page_id,
            psid=psid,
            visitor_id=uuid.uuid4(),
            name=name,
        )
        .on_conflict_do_nothing(index_elements=["account_id", "page_id", "psid"])
        .returning(contacts.c.visitor_id)
    )
    created = (await session.execute(stmt)).scalar() is not None
    return await get_contact(session, account_id, page_id, psid), created
