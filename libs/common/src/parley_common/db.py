"""PostgreSQL through SQLAlchemy 2 async: one engine per process, one commit point per request."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from parley_common.errors import DomainError, dependency_unavailable
from parley_common.metrics import watch_pool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """The metadata of a service's tables: its own schema, the shared naming convention.

    Each service declares ``class Base(DeclarativeBase): metadata = schema_metadata("<name>")``.
    """
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def create_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 30.0) -> AsyncEngine:
    # No pre-ping: it costs a round trip on every checkout (~8% of the chat service's CPU on
    # the message path). After a PostgreSQL restart a dead connection fails one request and
    # is dropped from the pool; recycling bounds how long idle connections live.
    # No overflow: an overflow connection is opened for one checkout and closed on return, so
    # under load every request paid a PostgreSQL backend start (bench/chat_message_path.py
    # counts connections opened per 1,000 messages). Past ``pool_size`` a checkout waits up to
    # ``pool_timeout`` and raises sqlalchemy.exc.TimeoutError (a 503 in a service).
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_pre_ping=False,
        pool_recycle=1800,
    )
    watch_pool(engine)
    return engine


async def warm_pool(engine: AsyncEngine, size: int) -> None:
    """Open the pool's ``size`` connections now, at start, rather than in the first requests
    (each first checkout pays PostgreSQL's backend start, and the very first SQLAlchemy's dialect
    set-up): a burst right after a (re)start is then served by a full pool. A database that is
    not there yet is not an error here: the pool fills as requests come, as before."""
    connections = []
    try:
        for _ in range(size):
            connections.append(await engine.connect())
    except (OSError, DBAPIError):
        pass
    finally:
        for connection in connections:
            await connection.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def driver_connection(session: AsyncSession) -> Any:
    """The session's asyncpg connection, for a hot statement that skips SQLAlchemy's adapter.

    Always inside the session's transaction: SQLAlchemy begins it lazily, at its first
    statement, so if none ran yet it is begun here. A statement on this connection then
    commits or rolls back with the rest at the one commit point (``get_session``, the consumer
    wrapper), never on its own. The price on chat's message path, whose only write used to
    commit by itself: a BEGIN and a COMMIT round trip, +0.2-0.4 ms of chat CPU per message
    (bench/results/chat-code-shape-begin-commit.json, A/B in one run).
    """
    connection = await session.connection()
    adapted: Any = (await connection.get_raw_connection()).dbapi_connection
    # The asyncpg dialect's adapter: the transaction it tracks is the one session.commit()
    # commits. (Private names of sqlalchemy.dialects.postgresql.asyncpg, pinned in uv.lock.)
    if adapted._transaction is None:
        await adapted._start_transaction()
    return adapted._connection


DriverStatement = tuple[str, tuple[str, ...]]


def driver_statement(sql: str) -> DriverStatement:
    """A hot statement for ``driver_fetchrow``: ``:name`` parameters as asyncpg's ``$n`` (a
    repeated name keeps its number), converted once at import."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"(?<![:\w]):(\w+)", number, sql), tuple(names)


async def driver_fetchrow(session: AsyncSession, statement: DriverStatement, **params: Any) -> Any:
    """Run a ``driver_statement`` on the session's driver connection (inside its transaction);
    its first row, or None."""
    sql, names = statement
    return await (await driver_connection(session)).fetchrow(sql, *(params[name] for name in names))


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run ``action`` once the session's transaction committed (never when it rolls back)."""
    session.info.setdefault("after_commit", []).append(action)


async def commit(session: AsyncSession) -> None:
    """Commit, then run what ``after_commit`` registered."""
    await session.commit()
    for action in session.info.pop("after_commit", []):
        await action()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: commits when the handler returns, rolls back when it raises
    (unless the error is a ``DomainError`` that ``keeps_changes``). The only commit point of
    a request.

    Used with ``Depends(get_session, scope="function")`` so the commit happens before the
    response is sent: a client never sees a 2xx for a change that was not committed.
    """
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async with factory() as session:
        try:
            yield session
        except BaseException as exc:
            if isinstance(exc, DomainError) and exc.keeps_changes:
                await commit(session)
                raise
            session.info.pop("after_commit", None)
            if dependency_unavailable(exc):
                # The connection may be dead (PostgreSQL restarted) while SQLAlchemy does not
                # know it: a statement on the driver connection fails outside its error handling,
                # and a rollback of a transaction never begun sends nothing. Invalidated, the
                # pool opens a new one instead of handing out the dead one forever.
                await session.invalidate()
            else:
                await session.rollback()
            raise
        else:
            await commit(session)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
