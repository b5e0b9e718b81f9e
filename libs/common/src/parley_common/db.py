"""PostgreSQL through SQLAlchemy 2 async: one engine per process, one commit point per request."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.util import await_only, greenlet_spawn

from parley_common.errors import DomainError, dependency_unavailable
from parley_common.events.publisher import committed
from parley_common.metrics import watch_pool

R = TypeVar("R")

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


def row_as(cls: Callable[..., R], row: Any) -> R | None:
    """A result row (or None) as ``cls``, a dataclass of its columns: a repository's typed row."""
    return None if row is None else cls(**row._mapping)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# Set on a session once its request's last statement, its only write, ran as its own
# transaction (``driver_fetchrow(..., last_write=True)``): no statement may follow it.
_FINISHED = "parley_finished_by_its_only_write"


def _refuse_after_last_write(session: Any) -> None:
    if session.info.get(_FINISHED):
        raise RuntimeError("the request's only write already ran on its own: nothing may follow")


@event.listens_for(Session, "do_orm_execute")
def _nothing_after_the_last_write(state: ORMExecuteState) -> None:
    _refuse_after_last_write(state.session)


async def driver_connection(session: AsyncSession, *, begin: bool = True) -> Any:
    """The session's asyncpg connection, for a hot statement that skips SQLAlchemy's adapter.

    Inside the session's transaction: SQLAlchemy begins it lazily, at its first statement,
    so if none ran yet it is begun here (``begin=False``: not for a read, which needs none). A
    statement on this connection commits or rolls back with the rest at the one commit point
    (``get_session``, the consumer wrapper), never on its own.
    """
    _refuse_after_last_write(session)
    connection = await session.connection()
    adapted: Any = (await connection.get_raw_connection()).dbapi_connection
    # The asyncpg dialect's adapter: the transaction it tracks is the one session.commit()
    # commits. (Private names of sqlalchemy.dialects.postgresql.asyncpg, pinned in uv.lock.)
    if begin and adapted._transaction is None:
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


async def driver_fetchrow(
    session: AsyncSession,
    statement: DriverStatement,
    *,
    read_only: bool = False,
    last_write: bool = False,
    **params: Any,
) -> Any:
    """Run a ``driver_statement`` on the session's driver connection; its first row, or None.

    Inside the session's transaction (begun here if needed), except:
    - ``read_only``: a read begins nothing (it runs in the transaction if one began);
    - ``last_write``: the request's last statement and its only write. When nothing began,
      it runs as its own transaction: PostgreSQL commits it at its end, which is where the
      edge would have committed (nothing follows), without a BEGIN and a COMMIT round trip —
      on chat's message path they cost 0.2-0.4 ms of chat CPU per message and most of the
      sustained rate (bench/results/chat-code-shape-*.json, A/B). Once it returned a row (it
      wrote), any statement after it on the session raises, so it cannot become one write
      among several; a statement that wrote nothing returns no row and closes nothing. When a
      transaction already began (a consumer's batch, an earlier write), it runs inside it like
      any other. A session that holds no connection yet (its first statement) is not given
      one: the statement runs on a connection borrowed from the pool and returned at once.
    """
    sql, names = statement
    values = [params[name] for name in names]
    if not last_write:
        return await (await driver_connection(session, begin=not read_only)).fetchrow(sql, *values)
    if not session.in_transaction() and isinstance(session.bind, AsyncEngine):
        # The session holds no connection yet: the statement borrows one from the pool for
        # its own time instead. Taking the session's connection and closing it cost chat's
        # message path ~0.3 ms of CPU more than a pool checkout (bench/chat_in_process.py).
        row = await _on_pooled_connection(session.bind, sql, values)
        if row is not None:
            session.info[_FINISHED] = True
        return row
    connection = await driver_connection(session, begin=False)
    alone = not connection.is_in_transaction()
    row = await connection.fetchrow(sql, *values)
    if alone and row is not None:  # a last_write statement returns no row when it wrote nothing
        session.info[_FINISHED] = True
    return row


async def _on_pooled_connection(engine: AsyncEngine, sql: str, values: list[Any]) -> Any:
    """``fetchrow`` as its own transaction on a connection borrowed from ``engine``'s pool.

    Checkout, statement and checkin in one greenlet (the pool is SQLAlchemy's sync code): a
    greenlet for the checkout and another for the checkin cost chat's message path ~20 us more
    (bench/README.md, "chat's CPU")."""
    return await greenlet_spawn(_fetchrow_pooled, engine.sync_engine, sql, values)


def _fetchrow_pooled(engine: Any, sql: str, values: list[Any]) -> Any:
    """The connection goes back after an answer, a row or PostgreSQL's error; after anything
    else (the connection cut, the request cancelled mid-statement) its state is unknown and it
    is dropped."""
    pooled = engine.raw_connection()
    try:
        row = await_only(pooled.driver_connection.fetchrow(sql, *values))
    except BaseException as exc:
        answered = isinstance(exc, asyncpg.PostgresError) and not dependency_unavailable(exc)
        if answered:
            pooled.close()
        else:
            pooled.invalidate()
        raise
    pooled.close()
    return row


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run ``action`` once the session's transaction committed (never when it rolls back)."""
    session.info.setdefault("after_commit", []).append(action)


async def commit(session: AsyncSession) -> None:
    """Commit, then run what ``after_commit`` registered. A session finished by its only
    write (``driver_fetchrow(..., last_write=True)``) has nothing left to commit: PostgreSQL
    committed that statement, nothing may follow it, and closing the session rolls back no
    transaction (none began), so SQLAlchemy's commit, a no-op on the wire, is skipped too."""
    if not session.info.get(_FINISHED):
        await session.commit()  # its events are handed to the publisher (events.publisher)
    elif session.new or session.dirty or session.deleted:
        # ORM changes after (or before) the last write would be silently dropped.
        raise RuntimeError("ORM changes in a session its last_write statement finished")
    else:
        committed(session)  # PostgreSQL committed the statement: publish its events
    for action in session.info.pop("after_commit", []):
        await action()


@asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: commits when the block ends, rolls back when it raises (unless
    the error is a ``DomainError`` that ``keeps_changes``). The only commit point of a request.

    Routes get it through ``SessionDep`` (``get_session``); a request answered below FastAPI
    (``parley_common.fastpath``: chat's visitor message) opens it itself, without FastAPI's
    machinery for a generator dependency (~70-100 us per request; bench/README.md).
    """
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    session = factory()
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
    finally:
        await _close(session)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """``request_session`` as a dependency, used with ``Depends(get_session,
    scope="function")`` so the commit happens before the response is sent: a client never sees
    a 2xx for a change that was not committed."""
    async with request_session(request) as session:
        yield session


async def _close(session: AsyncSession) -> None:
    """Close a request's session. Without a transaction it holds no connection and closing
    sends nothing, so it is closed in place: ``AsyncSession``'s exit spends a task and a
    greenlet on it (~25 us of chat's message path, which ends with no transaction: its
    statement ran on a pooled connection, or the session committed)."""
    if session.in_transaction():
        # SQLAlchemy's exit: the close runs to its end even if the request is cancelled.
        await session.__aexit__(None, None, None)
    else:
        session.sync_session.close()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
