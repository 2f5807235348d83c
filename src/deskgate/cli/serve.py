"""`deskgate serve`: check the settings, migrate the database, then serve with uvicorn or granian.

Both servers drain on SIGTERM (`web.drain`): `/readyz` fails first, requests keep being served for
``--drain-seconds``, then the server stops and finishes the requests in flight. uvicorn stays the default:
with draining, a stop under load lost no request with either server in `tests/unit/test_serve_drain.py`,
and uvicorn's worker health check, which killed workers still starting on two busy cores with its 5 s
default, is given 30 s here.
"""

from __future__ import annotations

import enum
import os
from types import FrameType
from typing import Annotated, Any

import typer

from deskgate.cli._shared import ConfigOption, assets_or_exit, port_free_or_exit, settings_or_exit
from deskgate.cli.db import migrate
from deskgate.observability import multiprocess
from deskgate.observability.logs import server_log_config
from deskgate.observability.metrics import MULTIPROC_ENV
from deskgate.web.asgi import CONFIG_ENV, configure_logging
from deskgate.web.drain import Drain

FACTORY = "deskgate.web.asgi:app_from_environment"
WORKER_HEALTHCHECK_SECONDS = 30


class Server(enum.StrEnum):
    uvicorn = "uvicorn"
    granian = "granian"


def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    server: Annotated[Server, typer.Option(help="The ASGI server to run.")] = Server.uvicorn,
    drain_seconds: Annotated[
        float,
        typer.Option(
            min=0,
            help="On SIGTERM, answer /readyz with 503 and keep serving this long before stopping"
            " (longer than your load balancer's health-check interval times its fall count; 0: stop at once).",
        ),
    ] = 5.0,
) -> None:
    """Serve Deskgate. Invalid settings are reported (all of them) before anything starts."""
    settings = settings_or_exit(config)
    port_free_or_exit(host, port)
    assets_or_exit()
    # Once, here, rather than racing in every worker's start-up.
    migrate(settings)
    # Workers are separate processes that build the app themselves from the same file.
    if config is not None:
        os.environ[CONFIG_ENV] = str(config.resolve())
    configure_logging(settings.log_level, settings.log_format)
    log_level = settings.log_level.lower()
    drain = Drain(drain_seconds)  # before any worker starts: they inherit its environment variable
    # Several workers share their metrics through files (an operator's PROMETHEUS_MULTIPROC_DIR is used
    # and emptied; else a private one, removed at the end): set before any worker starts, too.
    own_metrics_dir = workers > 1 and MULTIPROC_ENV not in os.environ
    metrics_dir = multiprocess.prepare() if workers > 1 else None
    try:
        if server is Server.granian:
            _granian(host, port, workers, log_level, drain)
        else:
            _uvicorn(host, port, workers, log_level, drain, server_log_config(settings.log_format))
    finally:
        drain.close()
        if metrics_dir is not None and own_metrics_dir:
            multiprocess.remove(metrics_dir)


def _uvicorn(
    host: str, port: int, workers: int, log_level: str, drain: Drain, log_config: dict[str, Any] | None
) -> None:
    import signal

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG
    from uvicorn.supervisors import Multiprocess

    class DrainingServer(uvicorn.Server):  # one process: it handles the signals itself
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            stop = super().handle_exit
            if sig == signal.SIGTERM:  # Ctrl-C stops at once
                drain.begin(lambda: stop(sig, frame))
            else:
                stop(sig, frame)

    class DrainingSupervisor(Multiprocess):  # several workers: the parent drains, then stops them
        def handle_term(self) -> None:
            drain.begin(super().handle_term)

    # proxy_headers off: Deskgate reads X-Forwarded-* itself, and only from its trusted_proxies.
    config = uvicorn.Config(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=False,
        log_config=log_config or LOGGING_CONFIG,  # JSON lines, or uvicorn's own
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    if workers == 1:
        single = DrainingServer(config)
        single.run()
        if not single.started:  # as `uvicorn.run` does: the app failed to start
            raise typer.Exit(3)
        return
    DrainingSupervisor(config, sockets=[config.bind_socket()]).run()


def _granian(host: str, port: int, workers: int, log_level: str, drain: Drain) -> None:
    import signal

    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server as Granian

    class DrainingGranian(Granian):  # type: ignore[misc,valid-type]
        def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
            stop = super().signal_handler_interrupt
            if args and args[0] == signal.SIGTERM:  # (signum, frame); Ctrl-C stops at once
                drain.begin(lambda: stop(*args, **kwargs))
            else:
                stop(*args, **kwargs)

    DrainingGranian(
        FACTORY,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        log_level=LogLevels(log_level),
    ).serve()
