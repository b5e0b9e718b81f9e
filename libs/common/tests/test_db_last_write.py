"""The one exception to the single commit point: a request's last statement and only write
runs as its own transaction (db.driver_fetchrow(..., last_write=True)) and nothing may follow
it; after another write it is just one more statement of the request's transaction."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from parley_common.db import commit, create_session_factory, driver_fetchrow, driver_statement


async def _count(engine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")))


async def test_the_only_write_stands_alone_and_nothing_may_follow_it(engine) -> None:
    table = f"public.last_write_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {table} (n int)"))
    insert = driver_statement(f"INSERT INTO {table} VALUES (:n) RETURNING n")
    factory = create_session_factory(engine)

    async with factory() as session:
        state = await driver_fetchrow(session, driver_statement("SELECT 1"), read_only=True)
        assert state[0] == 1
        row = await driver_fetchrow(session, insert, last_write=True, n=1)
        assert row[0] == 1
        with pytest.raises(RuntimeError):
            await session.execute(text(f"INSERT INTO {table} VALUES (2)"))
        with pytest.raises(RuntimeError):
            await driver_fetchrow(session, insert, n=3)
        await session.rollback()
    assert await _count(engine, table) == 1  # the write stood, nothing after it ran

    async with factory() as session:  # after another write it joins the transaction
        await session.execute(text(f"INSERT INTO {table} VALUES (4)"))
        await driver_fetchrow(session, insert, last_write=True, n=5)
        await session.rollback()
    assert await _count(engine, table) == 1


class _Base(DeclarativeBase):
    pass


class _Note(_Base):
    __tablename__ = "last_write_orm"
    __table_args__ = {"schema": "public"}
    n: Mapped[int] = mapped_column(primary_key=True)


async def test_orm_changes_after_the_last_write_are_refused_not_dropped(engine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    insert = driver_statement("INSERT INTO public.last_write_orm VALUES (:n) RETURNING n")
    first = uuid.uuid4().int % 1_000_000_000
    async with create_session_factory(engine)() as session:
        await driver_fetchrow(session, insert, last_write=True, n=first)
        session.add(_Note(n=first + 1))  # never flushed: commit would skip it silently
        with pytest.raises(RuntimeError):
            await commit(session)


async def test_an_only_write_in_a_fresh_session_holds_no_connection_after_it(engine) -> None:
    """With nothing run before it, the statement borrows a pool connection for its own time:
    the write stands, the connection is back in the pool at once, nothing may follow."""
    table = f"public.last_write_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {table} (n int)"))
    insert = driver_statement(f"INSERT INTO {table} VALUES (:n) RETURNING n")
    nothing = driver_statement(f"INSERT INTO {table} SELECT :n WHERE false RETURNING n")
    checked_out = engine.pool.checkedout()

    async with create_session_factory(engine)() as session:
        assert await driver_fetchrow(session, nothing, last_write=True, n=0) is None
        row = await driver_fetchrow(session, insert, last_write=True, n=1)
        assert row[0] == 1
        assert engine.pool.checkedout() == checked_out
        with pytest.raises(RuntimeError):
            await driver_fetchrow(session, insert, n=2)
        await session.rollback()
    assert await _count(engine, table) == 1

    async with create_session_factory(engine)() as session:  # a failed statement frees it too
        with pytest.raises(Exception, match="does_not_exist"):
            await driver_fetchrow(
                session, driver_statement("SELECT * FROM does_not_exist"), last_write=True
            )
        assert engine.pool.checkedout() == checked_out
        await driver_fetchrow(session, insert, last_write=True, n=3)
    assert await _count(engine, table) == 2
