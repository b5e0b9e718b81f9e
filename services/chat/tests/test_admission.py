"""Chat under overload: a refused visitor message is not stored; its retry is stored once."""

from __future__ import annotations

from sqlalchemy import text

from parley_chat.app import app
from parley_common.admission import Admission
from parley_common.db import create_engine, create_session_factory
from parley_common.testing import running_app


async def message_rows(session_factory, account_id, key: str) -> int:
    async with session_factory() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM chat.messages "
                "WHERE account_id = :a AND client_message_id = :k"
            ),
            {"a": account_id, "k": key},
        )
    return int(count or 0)


async def _post(client, visitor, key: str):
    return await client.post(
        "/api/v1/widget/messages",
        headers=visitor.headers,
        json={"text": "Are you there?", "client_message_id": key},
    )


async def test_a_full_service_refuses_and_the_retry_is_stored_once(
    database, visitor, session_factory
) -> None:
    async with running_app(app) as client:
        full = Admission(1, wait=0.01)
        await full.acquire()  # one request in flight fills the service
        app.state.admission = full
        refused = await _post(client, visitor, "k-1")
        assert await message_rows(session_factory, visitor.account_id, "k-1") == 0
        full.release()
        first = await _post(client, visitor, "k-1")
        second = await _post(client, visitor, "k-1")
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == "overloaded"
    assert first.status_code == 201 and second.status_code == 201
    assert second.json()["message"]["id"] == first.json()["message"]["id"]
    assert await message_rows(session_factory, visitor.account_id, "k-1") == 1


async def test_no_pooled_connection_in_time_is_503_and_nothing_is_stored(
    database, visitor, session_factory
) -> None:
    engine = create_engine(database, pool_size=1, pool_timeout=0.05)
    async with running_app(app) as client:
        own = app.state.session_factory
        app.state.session_factory = create_session_factory(engine)
        try:
            async with engine.connect() as busy:  # the pool's only connection is taken
                await busy.execute(text("SELECT 1"))
                refused = await _post(client, visitor, "k-2")
            accepted = await _post(client, visitor, "k-2")
        finally:
            app.state.session_factory = own
            await engine.dispose()
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == "overloaded"
    assert accepted.status_code == 201
    assert await message_rows(session_factory, visitor.account_id, "k-2") == 1
