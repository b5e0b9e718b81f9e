"""Every query on the visitors schema; each filters by account."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_visitors.models import Account, AgentStatus, OpenConversation, PageView, Visitor

# --- projections -----------------------------------------------------------------------------


async def account_by_widget_key(session: AsyncSession, widget_key: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.widget_key == widget_key))


async def account_by_id(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await session.get(Account, account_id)


async def upsert_account(
    session: AsyncSession,
    account_id: uuid.UUID,
    widget_key: str,
    name: str,
    settings: dict[str, Any],
) -> None:
    stmt = insert(Account).values(
        account_id=account_id, widget_key=widget_key, name=name, settings=settings
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Account.account_id],
            set_={
                "widget_key": widget_key,
                "name": name,
                "settings": settings,
                "updated_at": func.now(),
            },
        )
    )


async def save_account_settings(
    session: AsyncSession, account: Account, settings: dict[str, Any], widget_key: str | None
) -> None:
    values: dict[str, Any] = {"settings": settings, "updated_at": func.now()}
    if widget_key:
        values["widget_key"] = widget_key
    await session.execute(
        update(Account).where(Account.account_id == account.account_id).values(**values)
    )


async def set_agent_status(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID, status: str, at: datetime
) -> None:
    """The agent's status as of ``at`` (its event's occurred_at). Events of one account can be
    handled out of order (consumer batches run concurrently): a status set by a newer event is
    never overwritten by an older one (signup's "offline" after the first "online")."""
    stmt = insert(AgentStatus).values(
        account_id=account_id, agent_id=agent_id, status=status, status_at=at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[AgentStatus.account_id, AgentStatus.agent_id],
            set_={"status": status, "status_at": at},
            where=AgentStatus.status_at.is_(None) | (AgentStatus.status_at <= at),
        )
    )


async def remove_agent(session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    await session.execute(
        delete(AgentStatus).where(
            AgentStatus.account_id == account_id, AgentStatus.agent_id == agent_id
        )
    )


async def lock_account(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Agent status changes of one account take turns, so each sees the others' results
    (two agents going offline at once still leave nobody online)."""
    await session.execute(
        select(Account.account_id).where(Account.account_id == account_id).with_for_update()
    )


async def refresh_agents_online(session: AsyncSession, account_id: uuid.UUID) -> bool | None:
    """Recompute ``accounts.agents_online``; the new value when it changed, else None."""
    anyone = (
        exists()
        .where(AgentStatus.account_id == account_id, AgentStatus.status == "online")
        .correlate(None)
    )
    changed = await session.execute(
        update(Account)
        .where(Account.account_id == account_id, Account.agents_online.is_distinct_from(anyone))
        .values(agents_online=anyone)
        .returning(Account.agents_online)
    )
    return changed.scalar()


async def open_conversation(
    session: AsyncSession, account_id: uuid.UUID, conversation_id: uuid.UUID, visitor_id: uuid.UUID
) -> None:
    await session.execute(
        insert(OpenConversation)
        .values(
            conversation_id=conversation_id,
            account_id=account_id,
            visitor_id=visitor_id,
        )
        .on_conflict_do_nothing()
    )


async def close_conversation(
    session: AsyncSession, account_id: uuid.UUID, conversation_id: uuid.UUID
) -> None:
    await session.execute(
        delete(OpenConversation).where(
            OpenConversation.account_id == account_id,
            OpenConversation.conversation_id == conversation_id,
        )
    )


async def is_chatting(session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    OpenConversation.account_id == account_id,
                    OpenConversation.visitor_id == visitor_id,
                )
            )
        )
    )


# --- visitors --------------------------------------------------------------------------------


async def get_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID, *, for_update: bool = False
) -> Visitor | None:
    stmt = select(Visitor).where(Visitor.account_id == account_id, Visitor.id == visitor_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def add_visitor(session: AsyncSession, visitor: Visitor) -> Visitor:
    session.add(visitor)
    await session.flush()
    return visitor


async def known_visitors(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[Visitor]:
    stmt = select(Visitor).where(Visitor.account_id == account_id)
    if after is not None:
        stmt = stmt.where(tuple_(Visitor.last_seen_at, Visitor.id) < tuple_(*after))
    stmt = stmt.order_by(Visitor.last_seen_at.desc(), Visitor.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def mark_left(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID, last_seen: datetime
) -> None:
    await session.execute(
        update(Visitor)
        .where(Visitor.account_id == account_id, Visitor.id == visitor_id)
        .values(last_seen_at=last_seen)
    )
    await close_last_page_view(session, account_id, visitor_id, last_seen)


# --- page views ------------------------------------------------------------------------------


async def close_last_page_view(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID, until: datetime
) -> None:
    """Give the latest open page view its duration (the next page or leaving ends it)."""
    last = (
        select(PageView.id)
        .where(PageView.account_id == account_id, PageView.visitor_id == visitor_id)
        .order_by(PageView.viewed_at.desc(), PageView.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    seconds = func.greatest(0, func.extract("epoch", until - PageView.viewed_at))
    await session.execute(
        update(PageView)
        .where(PageView.id == last, PageView.duration_seconds.is_(None))
        .values(duration_seconds=func.round(seconds))
    )


async def add_page_view(
    session: AsyncSession,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    url: str,
    title: str,
    viewed_at: datetime,
    keep: int,
) -> None:
    await close_last_page_view(session, account_id, visitor_id, viewed_at)
    session.add(
        PageView(
            account_id=account_id, visitor_id=visitor_id, url=url, title=title, viewed_at=viewed_at
        )
    )
    await session.flush()
    oldest_kept = (
        select(PageView.viewed_at)
        .where(PageView.account_id == account_id, PageView.visitor_id == visitor_id)
        .order_by(PageView.viewed_at.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(
        delete(PageView).where(
            PageView.account_id == account_id,
            PageView.visitor_id == visitor_id,
            PageView.viewed_at < oldest_kept,
        )
    )


async def page_views(
    session: AsyncSession,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[PageView]:
    stmt = select(PageView).where(
        PageView.account_id == account_id, PageView.visitor_id == visitor_id
    )
    if after is not None:
        stmt = stmt.where(tuple_(PageView.viewed_at, PageView.id) < tuple_(*after))
    stmt = stmt.order_by(PageView.viewed_at.desc(), PageView.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def insert_channel_visitor(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    label: str,
    channel: str,
    name: str | None,
    avatar_url: str | None,
    facebook: dict[str, str] | None,
) -> None:
    """A visitor who came through another channel (once: a redelivered event changes nothing)."""
    await session.execute(
        insert(Visitor)
        .values(
            id=visitor_id,
            account_id=account_id,
            label=label,
            name=name,
            channel=channel,
            avatar_url=avatar_url,
            facebook=facebook,
            visits=1,
            custom={},
            utm={},
        )
        .on_conflict_do_nothing(index_elements=[Visitor.id])
    )
