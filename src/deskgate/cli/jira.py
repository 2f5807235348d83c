"""`deskgate jira`: connect Deskgate to JSM, check the connection, print substitute links, refresh caches.

    deskgate jira connect --site URL --deployment cloud|datacenter [--email E] [--token-env VAR]
    deskgate jira check     reachable? credentials? which desks? may it raise requests on behalf?
    deskgate jira links     each desk's substitute link (<base_url>/portal/<id>) and whether SSO is on
    deskgate jira desk ID [--sso on|off] [--request-types 1,2,3|all]   one desk's portal settings
    deskgate jira refresh   clears the JSM caches of every running server (within 5 s)

The service account's secret is read from an environment variable or a hidden prompt, never from the
command line (argv is visible to every user of the machine and lands in shell histories).
"""

from __future__ import annotations

import enum
import os
from typing import Annotated

import typer

from deskgate.cli._shared import (
    EXIT_BAD_CONFIG,
    EXIT_PROBLEM,
    ConfigOption,
    echo_problems,
    print_table,
    settings_or_exit,
    with_services,
)
from deskgate.jsm import JsmError
from deskgate.portal.connection import JsmNotConnected
from deskgate.portal.desks import DeskSetting
from deskgate.portal.jira_setup import (
    Check,
    ConnectionInvalid,
    build_connection,
    change_desk,
    check_connection,
    connect,
    forget_caches,
    site_switch_summary,
)
from deskgate.services import Services

app = typer.Typer(help="The Jira Service Management connection.", no_args_is_help=True)

VERDICTS = {True: "ok", False: "failed", None: "unknown"}


class Switch(enum.StrEnum):
    on = "on"
    off = "off"


class Deployment(enum.StrEnum):
    cloud = "cloud"
    datacenter = "datacenter"


async def check_jira(services: Services) -> list[Check]:
    return await check_connection(services.http, await services.jira.get())


@app.command("check")
def check_command(config: ConfigOption = None) -> None:
    """Check the JSM connection and say plainly what is missing (exit 1 when something is)."""
    checks = with_services(settings_or_exit(config), check_jira)
    print_table(("CHECK", "RESULT", "DETAIL"), [(c.name, VERDICTS[c.ok], c.detail) for c in checks])
    if any(c.ok is False for c in checks):
        raise typer.Exit(EXIT_PROBLEM)


@app.command("links")
def links_command(config: ConfigOption = None) -> None:
    """Each service desk's substitute link: hand it out instead of JSM's portal link."""

    async def run(services: Services) -> list[tuple[str, str, str, str, str]]:
        desks = await services.catalogue.service_desks()
        rows = []
        for desk in desks:
            setting = await services.desks.get(desk.id)
            link = services.desks.substitute_link(desk.id)
            on = "on" if setting.sso_enabled else "off"
            rows.append((desk.id, desk.project_key, desk.project_name, on, link))
        return rows

    try:
        rows = with_services(settings_or_exit(config), run)
    except (JsmNotConnected, JsmError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_PROBLEM) from None
    print_table(("ID", "KEY", "NAME", "SSO", "LINK"), rows)


def parse_request_types(text: str) -> tuple[str, ...] | None:
    """`all` → None (every request type); `1, 2,3` → ("1", "2", "3"). ValueError for anything else."""
    if text.strip().casefold() == "all":
        return None
    ids = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids or not all(i.isdigit() for i in ids):
        raise ValueError("--request-types takes `all` or request type ids separated by commas, e.g. 1,2,3")
    return ids


@app.command("desk")
def desk_command(
    desk_id: Annotated[str, typer.Argument(help="The service desk's id (see `deskgate jira links`).")],
    sso: Annotated[
        Switch | None, typer.Option("--sso", help="on: the portal serves this desk; off: it answers 404.")
    ] = None,
    request_types: Annotated[
        str | None,
        typer.Option("--request-types", help="The request types the portal shows: `all` or ids, e.g. 1,2,3."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Show or change one desk's portal settings (unchanged options keep their value)."""
    if not desk_id.isdigit():
        typer.echo(f"A service desk id is a number, not {desk_id!r}.", err=True)
        raise typer.Exit(EXIT_BAD_CONFIG)
    try:
        visible = parse_request_types(request_types) if request_types is not None else None
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_BAD_CONFIG) from None

    async def run(services: Services) -> DeskSetting:
        return await change_desk(
            services.desks,
            desk_id,
            sso=None if sso is None else sso is Switch.on,
            request_types="unchanged" if request_types is None else visible,
        )

    setting = with_services(settings_or_exit(config), run)
    shown = ", ".join(setting.visible_request_types) if setting.visible_request_types is not None else "all"
    typer.echo(
        f"Desk {desk_id}: SSO {'on' if setting.sso_enabled else 'off'}, request types: {shown}. "
        "Running Deskgate servers follow within a few seconds."
    )


@app.command("refresh")
def refresh_command(config: ConfigOption = None) -> None:
    """Clear the cached desks, request types and forms of every running server (within a few seconds)."""
    settings = settings_or_exit(config)

    async def run(services: Services) -> None:
        await forget_caches(services)

    with_services(settings, run)
    typer.echo("Caches cleared: every running Deskgate server refetches from JSM within 5 seconds.")


@app.command("connect")
def connect_command(
    site: Annotated[str, typer.Option("--site", help="The JSM site, e.g. https://example.atlassian.net.")],
    deployment: Annotated[Deployment, typer.Option(help="Jira Cloud or Data Center.")] = Deployment.cloud,
    email: Annotated[str | None, typer.Option(help="Cloud: the service account's e-mail address.")] = None,
    token_env: Annotated[
        str | None,
        typer.Option("--token-env", help="Read the API token / personal access token from this variable."),
    ] = None,
    confluence_url: Annotated[
        str | None,
        typer.Option(
            "--confluence-url",
            help="Data Center: the Confluence holding the knowledge bases (articles then show their text).",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Store the JSM connection (the token encrypted). The token never comes from the command line."""
    settings = settings_or_exit(config)
    label = "API token" if deployment is Deployment.cloud else "Personal access token"
    if token_env:
        secret = os.environ.get(token_env, "")
        if not secret:
            typer.echo(f"The environment variable {token_env} is not set or empty.", err=True)
            raise typer.Exit(EXIT_BAD_CONFIG)
    else:
        secret = typer.prompt(label, hide_input=True)
    try:
        connection = build_connection(
            site_url=site,
            deployment=deployment.value,
            email=email,
            secret=secret,
            confluence_url=confluence_url,
        )
    except ConnectionInvalid as exc:
        typer.echo("The connection is invalid:", err=True)
        echo_problems(f"  {field}: {text}" for field, text in exc.problems.items())
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    switch = with_services(settings, lambda s: connect(s, connection))
    typer.echo(f"Saved the connection to {connection.site_url}. Run `deskgate jira check` to verify it.")
    if switch is not None:  # another site: its account ids and desk ids mean other people and desks
        typer.echo(f"Another site: {site_switch_summary(switch)}.")
