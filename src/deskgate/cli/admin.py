"""deskgate admin create | list: local admin accounts of the console."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from deskgate.admin.accounts import AdminAccountError
from deskgate.cli._shared import EXIT_PROBLEM, ConfigOption, settings_or_exit, with_services
from deskgate.services import Services

app = typer.Typer(help="Admin accounts of the console.", no_args_is_help=True)


def _password(password_env: str | None) -> str:
    # Never from argv: the process list and the shell history would show it.
    if password_env is not None:
        value = os.environ.get(password_env)
        if not value:
            typer.echo(f"The environment variable {password_env} is not set or empty.", err=True)
            raise typer.Exit(EXIT_PROBLEM)
        return value
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered


@app.command()
def create(
    username: Annotated[str, typer.Argument(help="The admin's user name.")],
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env", metavar="VAR", help="Read the password from this environment variable."
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create an admin account (the password is asked for twice, hidden)."""
    settings = settings_or_exit(config)
    password = _password(password_env)

    async def action(services: Services) -> None:
        await services.admins.create(username, password)

    try:
        with_services(settings, action)
    except AdminAccountError as exc:
        typer.echo(exc.user_message, err=True)
        raise typer.Exit(EXIT_PROBLEM) from None
    typer.echo(f"Admin {username} created; sign in at {settings.url('/admin/login')}")


@app.command(name="list")
def list_admins(config: ConfigOption = None) -> None:
    """List the admin accounts."""
    settings = settings_or_exit(config)
    for account in with_services(settings, lambda services: services.admins.list()):
        last = account.last_login_at.isoformat(timespec="seconds") if account.last_login_at else "never"
        typer.echo(f"{account.username}\tcreated {account.created_at:%Y-%m-%d}\tlast sign-in {last}")


__all__ = ["app"]
