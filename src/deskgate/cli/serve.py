"""`deskgate serve`: check the settings, migrate the database, then serve with uvicorn or granian."""

from __future__ import annotations

import enum
import os
from typing import Annotated

import typer

from deskgate.cli._shared import ConfigOption, port_free_or_exit, settings_or_exit
from deskgate.cli.db import migrate
from deskgate.web.asgi import CONFIG_ENV

FACTORY = "deskgate.web.asgi:app_from_environment"


class Server(enum.StrEnum):
    uvicorn = "uvicorn"
    granian = "granian"


def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    server: Annotated[Server, typer.Option(help="The ASGI server to run.")] = Server.uvicorn,
) -> None:
    """Serve Deskgate. Invalid settings are reported (all of them) before anything starts."""
    settings = settings_or_exit(config)
    port_free_or_exit(host, port)
    # Once, here, rather than racing in every worker's start-up.
    migrate(settings)
    # Workers are separate processes that build the app themselves from the same file.
    if config is not None:
        os.environ[CONFIG_ENV] = str(config.resolve())
    log_level = settings.log_level.lower()
    if server is Server.granian:
        from granian.constants import Interfaces
        from granian.log import LogLevels
        from granian.server import Server as Granian

        Granian(
            FACTORY,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            log_level=LogLevels(log_level),
        ).serve()
        return
    import uvicorn

    # proxy_headers off: Deskgate reads X-Forwarded-* itself, and only from its trusted_proxies.
    uvicorn.run(
        FACTORY, factory=True, host=host, port=port, workers=workers, log_level=log_level, proxy_headers=False
    )
