"""What every command shares: the --config option, loading settings, running against the services."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from deskgate.errors import ConfigError
from deskgate.services import Services, build_services
from deskgate.settings import Settings, load_settings

T = TypeVar("T")

# Exit codes: 1 = the command ran and found a problem (a failed check, a rejected import), 2 = it could
# not run at all (invalid settings, like a usage error).
EXIT_PROBLEM = 1
EXIT_BAD_CONFIG = 2

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="DESKGATE_CONFIG",
        help="YAML settings file; DESKGATE_* environment variables override it.",
        dir_okay=False,
        show_default=False,
    ),
]


def echo_problems(problems: Iterable[str]) -> None:
    for problem in problems:
        typer.echo(problem, err=True)


def settings_or_exit(config: Path | None) -> Settings:
    """The settings, or every problem with them on stderr and exit code 2."""
    try:
        return load_settings(config)
    except ConfigError as exc:
        typer.echo("The configuration is invalid:", err=True)
        echo_problems(f"  {problem}" for problem in exc.problems)
        raise typer.Exit(EXIT_BAD_CONFIG) from None


def with_services(settings: Settings, action: Callable[[Services], Awaitable[T]]) -> T:
    """Build the services, run one async action with them, and close them again."""

    async def run() -> T:
        services = await build_services(settings)
        try:
            return await action(services)
        finally:
            await services.aclose()

    return asyncio.run(run())


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Plain aligned columns (easy to read, easy to grep); the last column is never padded."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    for row in (headers, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        typer.echo("  ".join([*cells, str(row[-1])]).rstrip())


def port_free_or_exit(host: str, port: int) -> None:
    """Exit with one sentence naming ``--port`` when something already listens on host:port.

    Checked before anything starts (the demo IdP, migrations, workers), so that a busy port is not a page of
    server traceback. Bound the way the ASGI servers bind (``SO_REUSEADDR``), so a port in TIME_WAIT is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                typer.echo(
                    f"Port {port} on {host} is already in use (another Deskgate or another program);"
                    " choose a free one with --port.",
                    err=True,
                )
            else:
                typer.echo(f"Cannot listen on {host}:{port}: {exc.strerror}.", err=True)
            raise typer.Exit(EXIT_PROBLEM) from None


def assets_or_exit() -> None:
    """Exit with the one sentence that says how to build a missing generated static file (the design
    system's stylesheet), rather than the traceback of every worker failing to start."""
    from deskgate.web.assets import MissingAssets, StaticAssets

    try:
        StaticAssets.load()
    except MissingAssets as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_BAD_CONFIG) from None
