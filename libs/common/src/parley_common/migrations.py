"""Alembic, one migration history per service, each in the service's own schema."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from parley_common.definition import ServiceDef, load_service


def alembic_config(service: ServiceDef, database_url: str) -> Config:
    if service.migrations is None:
        raise ValueError(f"{service.name} has no migrations")
    config = Config()
    config.set_main_option("script_location", str(service.migrations))
    config.set_main_option("parley_service", service.name)
    config.attributes["database_url"] = database_url
    return config


def upgrade(service: ServiceDef, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def run_migrations() -> None:
    """Called from each service's ``migrations/env.py``."""
    config = context.config
    service = load_service(config.get_main_option("parley_service") or "")
    url = config.attributes.get("database_url")
    if url is None:
        from parley_common.settings import get_settings

        url = get_settings().database_url
    schema = service.schema
    assert schema is not None and service.metadata is not None

    def include_name(name: str | None, type_: str, _: Any) -> bool:
        return type_ != "schema" or name == schema

    def run(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=service.metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(run)
        await engine.dispose()

    asyncio.run(main())


def _server_and_name(database_url: str) -> tuple[str, str]:
    base, _, name = database_url.rpartition("/")
    return f"{base}/postgres", name.split("?")[0]


async def drop_database(database_url: str) -> None:
    """Drop the database named in the URL (closing its connections) if it exists."""
    server, name = _server_and_name(database_url)
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def ensure_database(database_url: str, *, recreate: bool = False) -> None:
    """Create the database named in the URL if it does not exist (drop it first if asked)."""
    if recreate:
        await drop_database(database_url)
    server, name = _server_and_name(database_url)
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
