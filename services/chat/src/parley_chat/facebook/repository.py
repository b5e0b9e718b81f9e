"""SQL of the Facebook integration: connected pages (``PageRow``) and Messenger contacts
(``ContactRow``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.facebook.models import FacebookContact, FacebookPage
from parley_common.db import row_as

pages = FacebookPage.__table__
contacts = FacebookContact.__table__


@dataclass(frozen=True, slots=True)
class PageRow:
    account_id: uuid.UUID
    page_id: str
    page_name: str | None
    access_token: str
    status: str
    connected_by: uuid.UUID | None
    connected_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ContactRow:
    account_id: uuid.UUID
    page_id: str
    psid: str
    visitor_id: uuid.UUID
    name: str | None
    created_at: datetime


async def get_page(session: AsyncSession, account_id: uuid.UUID) -> PageRow | None:
    stmt = select(pages).where(pages.c.account_id == account_id)
    return row_as(PageRow, (await session.execute(stmt)).first())


async def page_by_page_id(session: AsyncSession, page_id: str) -> PageRow | None:
    """Any account's page: only for the signed webhook, which names a page, not an account."""
    return row_as(
        PageRow, (await session.execute(select(pages).where(pages.c.page_id == page_id))).first()
    )


async def save_page(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    page_id: str,
    page_name: str | None,
    access_token: str,
    connected_by: uuid.UUID,
) -> PageRow:
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
    return PageRow(**(await session.execute(stmt)).one()._mapping)


async def delete_page(session: AsyncSession, account_id: uuid.UUID) -> None:
    await session.execute(delete(pages).where(pages.c.account_id == account_id))


async def get_contact(
    session: AsyncSession, account_id: uuid.UUID, page_id: str, psid: str
) -> ContactRow | None:
    stmt = select(contacts).where(
        contacts.c.account_id == account_id,
        contacts.c.page_id == page_id,
        contacts.c.psid == psid,
    )
    return row_as(ContactRow, (await session.execute(stmt)).first())


async def contact_by_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> ContactRow | None:
    stmt = select(contacts).where(
        contacts.c.account_id == account_id, contacts.c.visitor_id == visitor_id
    )
    return row_as(ContactRow, (await session.execute(stmt)).first())


async def insert_contact(
    session: AsyncSession, account_id: uuid.UUID, page_id: str, psid: str, name: str | None
) -> tuple[ContactRow, bool]:
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
    contact = await get_contact(session, account_id, page_id, psid)
    assert contact is not None  # inserted now, or by the insert this one yielded to
    return contact, created
