"""`parley`: the admin and process command line."""

from __future__ import annotations

import asyncio
import json
from importlib.metadata import entry_points
from typing import Annotated, Any

import typer

from parley_common import telemetry
from parley_common.definition import load_service, service_names
from parley_common.settings import Settings, get_settings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Parley: run, migrate and seed the live-chat backend.",
)


@app.command()
def keys() -> None:
    """Generate the development JWT key pair if none is configured."""
    from parley_common.security import generate_key_pair

    settings = get_settings()
    if settings.jwt_private_key_file.exists():
        typer.echo(f"keys: using {settings.jwt_private_key_file}")
        return
    generate_key_pair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    typer.echo(f"keys: generated {settings.jwt_private_key_file}")


@app.command("secrets-key")
def secrets_key() -> None:
    """Print a new key for PARLEY_SECRETS_KEY (seals webhook secrets at rest)."""
    from parley_common.sealed import new_key

    typer.echo(new_key())


async def declare_topology() -> None:
    from parley_common.events import broker
    from parley_common.worker import declare_consumer_queues

    settings = get_settings()
    connection = await broker.connect(settings.rabbitmq_url)
    try:
        channel = await connection.channel()
        await broker.declare_exchanges(channel, settings.namespace)
        for name in service_names():
            service = load_service(name)
            await declare_consumer_queues(channel, service, settings.namespace)
            for purpose, keys_ in service.queues:
                await broker.declare_queue(
                    channel,
                    settings.namespace,
                    broker.queue_name(settings.namespace, name, purpose),
                    keys_,
                )
    finally:
        await connection.close()


async def remove_namespace(settings: Settings, *, database: bool = True) -> None:
    """Undo a throw-away run (tests, benchmarks): its Redis keys, every service's queues and
    the exchanges of its namespace, and (if asked) its database."""
    from parley_common.events import broker
    from parley_common.migrations import drop_database
    from parley_common.redis import create_redis

    redis = create_redis(settings)
    async for key in redis.scan_iter(match=f"{settings.namespace}:*", count=1000):
        await redis.delete(key)
    await redis.aclose()
    connection = await broker.connect(settings.rabbitmq_url, name="cleanup")
    try:
        channel = await connection.channel()
        names = [f"{settings.namespace}.dead-letter"]
        for name in service_names():
            service = load_service(name)
            purposes = [c.purpose for c in service.consumers] + [p for p, _ in service.queues]
            names += [broker.queue_name(settings.namespace, name, p) for p in purposes]
        for name in names:  # deleting a queue that was never declared is fine
            await channel.queue_delete(name)
        await channel.exchange_delete(broker.exchange_name(settings.namespace))
        await channel.exchange_delete(broker.dead_letter_exchange_name(settings.namespace))
    finally:
        await connection.close()
    if database:
        await drop_database(settings.database_url)


def migrate_all(database_url: str) -> None:
    from parley_common.migrations import ensure_database, upgrade

    asyncio.run(ensure_database(database_url))
    for name in service_names():
        service = load_service(name)
        if service.migrations is not None:
            upgrade(service, database_url)
            typer.echo(f"migrate: {name} at head")


@app.command()
def migrate(broker_topology: bool = True) -> None:
    """Create the database and schemas, run every service's migrations, declare queues."""
    migrate_all(get_settings().database_url)
    if broker_topology:
        asyncio.run(declare_topology())
        typer.echo("migrate: RabbitMQ exchanges and queues declared")


def _known_service(name: str) -> str:
    """A wrong name is a usage error (exit 2, the usage and the names), not a traceback."""
    names = service_names()
    if name not in names:
        raise typer.BadParameter(f"{name!r} is not one of: {', '.join(names)}")
    return name


ServiceName = Annotated[
    str,
    typer.Argument(
        callback=_known_service, metavar="NAME", help=f"one of: {', '.join(service_names())}"
    ),
]


# How long a service keeps an idle HTTP connection: longer than any client pool keeps one
# (nginx's upstream keepalive_timeout, the gateway's aiohttp pool), so the pool, not uvicorn,
# closes it. With uvicorn's default 5 s, a request nginx sent on a connection uvicorn was
# closing failed as a 502 (seen as a 503 upstream_unavailable in make test beside make run).
KEEP_ALIVE_SECONDS = 75


@app.command()
def serve(
    name: ServiceName,
    port: Annotated[int | None, typer.Option()] = None,
    workers: int = 1,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--with-worker",
            help="Run the service's worker (relay, consumers, jobs) in this process too: "
            "one process per service for development (the Procfile). Not with --workers.",
        ),
    ] = False,
) -> None:
    """Run a service's (or the gateway's) HTTP app, and its internal listener if it has one."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from parley_common.server import Server

    if with_worker and workers > 1:
        raise typer.BadParameter(
            "one worker per service: not with --with-worker", param_hint="--workers"
        )
    settings = get_settings()
    # Before the app is imported: create_service_app wraps it when tracing is on.
    telemetry.setup(name, settings.otlp_endpoint)
    service = load_service(name)
    target: Any = service.app
    if with_worker:
        from uvicorn.importer import import_from_string

        from parley_common.worker import attach_worker

        target = import_from_string(service.app)
        attach_worker(target, service)
    config = uvicorn.Config(
        target,
        host=settings.host,
        port=port or service.port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        # websockets' sans-I/O protocol frames a message in ~3 µs against wsproto's ~12 (the
        # fan-out sends each frame to every socket of the account) for ~2 KB more per idle
        # socket (bench/README.md, results/stream_cpu.json, stream_idle_memory_sansio.json).
        ws="websockets-sansio",
        log_config=None,
        proxy_headers=False,
        server_header=False,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # permessage-deflate keeps zlib state per socket: ~127 KB instead of ~37 KB idle
        # (bench/stream_idle_memory.py); stream frames are small JSON.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    sockets = [config.bind_socket()]
    internal_port = service.internal_port() if service.internal_port else 0
    if internal_port:
        # The same app on a second socket; it tells the two apart by scope["server"].
        config.port = internal_port
        sockets.append(config.bind_socket())
    if workers > 1:
        Multiprocess(config, sockets=sockets).run()
        return
    server = Server(config)
    server.run(sockets=sockets)
    if not server.started:
        raise typer.Exit(3)  # the lifespan failed: exit non-zero like uvicorn.run


@app.command()
def worker(name: ServiceName) -> None:
    """Run a service's outbox relay, consumers and background jobs."""
    import uvloop

    from parley_common.worker import run_worker

    telemetry.setup(f"{name}-worker", get_settings().otlp_endpoint)
    uvloop.run(run_worker(load_service(name)))


@app.command()
def asyncapi() -> None:
    """Print the AsyncAPI document of every event."""
    from parley_common.events.catalogue import asyncapi_document

    typer.echo(json.dumps(asyncapi_document(), indent=2, default=str))


def _register_service_commands() -> None:
    """Commands a service adds (``[project.entry-points."parley.commands"]``: a function
    ``register(app)``), so this library imports no service: create-account, seed-demo (auth),
    seed-visitors (visitors), inbound-mail (chat), nginx-config and nginx (gateway)."""
    for ep in entry_points(group="parley.commands"):
        ep.load()(app)


_register_service_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
