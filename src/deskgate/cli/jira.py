"""`deskgate jira`: connect Deskgate to JSM, check the connection, print substitute links, refresh caches.

    deskgate jira connect --site URL --deployment cloud|datacenter [--email E] [--token-env VAR]
    deskgate jira check     reachable? credentials? which desks? may it raise requests on behalf?
    deskgate jira links     each desk's substitute link (<base_url>/portal/<id>) and whether SSO is on
    deskgate jira desk ID [--sso on|off] [--request-types 1,2,3|all]   one desk's portal settings
    deskgate jira refresh   clears this process's caches; running servers follow within jsm_cache_seconds

The service account's secret is read from an environment variable or a hidden prompt, never from the
command line (argv is visible to every user of the machine and lands in shell histories).
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from typing import Annotated

import typer
from pydantic import SecretStr, ValidationError

from deskgate.cli._shared import (
    EXIT_BAD_CONFIG,
    EXIT_PROBLEM,
    ConfigOption,
    echo_problems,
    print_table,
    settings_or_exit,
    with_services,
)
from deskgate.jsm import JsmAuthError, JsmClient, JsmConnection, JsmError, JsmUnavailable, RetryPolicy
from deskgate.portal.connection import JsmNotConnected
from deskgate.portal.desks import DeskSetting
from deskgate.services import Services

app = typer.Typer(help="The Jira Service Management connection.", no_args_is_help=True)

VERDICTS = {True: "ok", False: "failed", None: "unknown"}


class Switch(enum.StrEnum):
    on = "on"
    off = "off"


class Deployment(enum.StrEnum):
    cloud = "cloud"
    datacenter = "datacenter"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool | None  # None: cannot be told without side effects
    detail: str


async def check_jira(services: Services) -> list[Check]:
    """Every check that can be made, stopping where the next would only repeat the same failure."""
    connection = await services.jira.get()
    if connection is None:
        return [Check("connection", False, "JSM is not connected: run `deskgate jira connect`")]
    # Few retries: an admin waiting at the terminal wants the answer, not a long backoff.
    client = JsmClient(services.http, connection, retry=RetryPolicy(max_attempts=2, base_delay=0.2))
    checks: list[Check] = []
    try:
        info = await client.server_info()
        checks.append(Check("reachable", True, f"{connection.site_url} ({info.title or info.version})"))
    except JsmUnavailable as exc:
        return [Check("reachable", False, f"cannot reach {connection.site_url}: {exc}")]
    except JsmError as exc:  # it answered, if not happily (some sites hide serverInfo from anonymous calls)
        checks.append(Check("reachable", True, f"{connection.site_url} answered ({exc.status})"))
    try:
        me = await client.myself()
    except JsmAuthError as exc:
        who = connection.email or "the personal access token"
        checks.append(
            Check("credentials", False, f"JSM refused {who} (HTTP {exc.status}): {_secret_hint(connection)}")
        )
        return checks
    except JsmError as exc:
        checks.append(Check("credentials", False, str(exc)))
        return checks
    checks.append(Check("credentials", True, f"signed in as {me.display_name} <{me.email or me.user_id}>"))
    desks = await client.service_desks()
    if not desks:
        checks.append(
            Check(
                "service desks",
                False,
                "the service account sees no service desk: make it an agent of each desk's project",
            )
        )
        return checks
    checks.append(Check("service desks", True, ", ".join(f"{d.project_key} ({d.id})" for d in desks)))
    for desk in desks:
        types = await client.request_types(desk.id)
        if not types:
            checks.append(
                Check(f"raise on behalf: {desk.project_key}", False, "the desk has no request types")
            )
            continue
        form = await client.request_form(desk.id, types[0].id)
        checks.append(
            Check(
                f"raise on behalf: {desk.project_key}",
                form.can_raise_on_behalf_of,
                "may raise requests for customers"
                if form.can_raise_on_behalf_of
                else "may NOT raise requests for customers: make the service account an agent of this project",
            )
        )
    checks.append(
        Check(
            "create customers",
            None,
            "JSM cannot be asked without creating one; the service account needs the 'Administer Jira' or "
            "the desk's 'Service project agent' permission with customer creation open to agents",
        )
    )
    return checks


def _secret_hint(connection: JsmConnection) -> str:
    if connection.deployment == "cloud":
        return "check the e-mail address and the API token (id.atlassian.com → Security → API tokens)"
    return "check the personal access token (profile → Personal Access Tokens) and that it has not expired"


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
        setting = await services.desks.get(desk_id)
        if sso is not None or request_types is not None:
            setting = DeskSetting(
                desk_id,
                setting.sso_enabled if sso is None else sso is Switch.on,
                setting.visible_request_types if request_types is None else visible,
            )
            await services.desks.save(setting)
        return setting

    setting = with_services(settings_or_exit(config), run)
    shown = ", ".join(setting.visible_request_types) if setting.visible_request_types is not None else "all"
    typer.echo(
        f"Desk {desk_id}: SSO {'on' if setting.sso_enabled else 'off'}, request types: {shown}. "
        "Running Deskgate servers follow within a few seconds."
    )


@app.command("refresh")
def refresh_command(config: ConfigOption = None) -> None:
    """Clear the cached desks, request types and forms (this process); servers follow within their TTL."""
    settings = settings_or_exit(config)

    async def run(services: Services) -> None:
        services.catalogue.refresh()
        services.customers.links.forget()

    with_services(settings, run)
    typer.echo(
        f"Caches cleared. Running Deskgate servers refetch within jsm_cache_seconds "
        f"({settings.jsm_cache_seconds:g} s); restart them to see a change at once."
    )


@app.command("connect")
def connect_command(
    site: Annotated[str, typer.Option("--site", help="The JSM site, e.g. https://example.atlassian.net.")],
    deployment: Annotated[Deployment, typer.Option(help="Jira Cloud or Data Center.")] = Deployment.cloud,
    email: Annotated[str | None, typer.Option(help="Cloud: the service account's e-mail address.")] = None,
    token_env: Annotated[
        str | None,
        typer.Option("--token-env", help="Read the API token / personal access token from this variable."),
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
    values: dict[str, object] = {"site_url": site, "deployment": deployment.value}
    if deployment is Deployment.cloud:
        values |= {"email": email, "api_token": SecretStr(secret)}
    else:
        values["personal_access_token"] = SecretStr(secret)
    try:
        connection = JsmConnection.model_validate(values)
    except ValidationError as exc:
        typer.echo("The connection is invalid:", err=True)
        echo_problems(f"  {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    with_services(settings, lambda s: s.jira.save(connection))
    typer.echo(f"Saved the connection to {connection.site_url}. Run `deskgate jira check` to verify it.")
