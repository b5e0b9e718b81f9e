"""The gateway's `parley` commands (entry point ``parley.commands``): nginx-config, nginx."""

from __future__ import annotations

from typing import Annotated, Any

import typer


def _settings_and_port(port: int | None) -> tuple[Any, int]:
    from parley_common.contracts import PUBLIC_PORT
    from parley_gateway.config import get_gateway_settings

    return get_gateway_settings(), port or PUBLIC_PORT


def nginx_config(port: Annotated[int | None, typer.Option()] = None) -> None:
    """Print the nginx config generated from the gateway's routing table (the public port)."""
    from parley_gateway import nginx

    settings, port = _settings_and_port(port)
    typer.echo(nginx.render(settings, port), nl=False)


def run_nginx(port: Annotated[int | None, typer.Option()] = None) -> None:
    """Run nginx in the foreground on the public port, in front of the services and the
    gateway, with the config generated from the routing table (in PARLEY_NGINX_RUN_DIR,
    default .local/nginx/<port>)."""
    from parley_gateway import nginx

    settings, port = _settings_and_port(port)
    nginx.exec_nginx(settings, port, nginx.run_dir_for(settings, port))


def register(app: typer.Typer) -> None:
    app.command("nginx-config")(nginx_config)
    app.command("nginx")(run_nginx)
