"""Setting up the JSM side, once for the CLI (`deskgate jira …`), the admin console and the config import.

    build_connection   form or command-line values → a JsmConnection, or every problem by field
    connect            store a connection and forget what was cached from the previous one; a connection
                       to another site also deletes the previous site's customer links and desk settings
    check_connection   reachable? credentials? which desks? may it raise requests on behalf of customers,
                       create customers (Jira administrator) and add them to each desk (desk administrator)?
    change_desk        one desk's portal settings (SSO, visible request types), unchanged parts kept

Keeping these here, and not in the CLI or a web handler, is what makes the page and the command report
the same findings and store the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import httpx
from pydantic import SecretStr, ValidationError

from deskgate.jsm import JsmAuthError, JsmClient, JsmConnection, JsmError, JsmUnavailable, RetryPolicy
from deskgate.jsm.models import ServiceDesk
from deskgate.portal.connection import SiteSwitch
from deskgate.portal.desks import DeskSetting, DeskSettings
from deskgate.services import Services
from deskgate.validation import plain_message

Deployment = Literal["cloud", "datacenter"]
SECRET_FIELDS: Mapping[str, str] = {"cloud": "api_token", "datacenter": "personal_access_token"}
# The fields an admin edits; the others (request_type_field, timeout_seconds) are kept from the stored one.
_FORM_FIELDS = ("site_url", "deployment", "email", "confluence_url", *SECRET_FIELDS.values())
_PLACEHOLDER_SITE = "https://jsm.invalid"  # only to find the other problems; never stored


class ConnectionInvalid(ValueError):
    """The values do not make a connection; `problems` maps each field (or "connection") to what is wrong."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {text}" for field, text in problems.items()))
        self.problems = dict(problems)


def build_connection(
    *,
    site_url: str,
    deployment: str,
    email: str | None,
    secret: str,
    confluence_url: str | None = None,
    stored: JsmConnection | None = None,
) -> JsmConnection:
    """The connection these values describe. An empty secret keeps the stored one when the deployment
    type is unchanged (a form never shows the secret, so it cannot send it back). The Confluence address
    is Data Center's only (Cloud reads its own /wiki): empty or on Cloud, none is kept."""
    if deployment not in SECRET_FIELDS:
        raise ConnectionInvalid({"deployment": "choose Jira Cloud or Jira Data Center"})
    secret_field = SECRET_FIELDS[deployment]
    kept: SecretStr | None = None
    if not secret and stored is not None and stored.deployment == deployment:
        kept = getattr(stored, secret_field)
    values: dict[str, object] = {}
    if stored is not None:
        values = stored.model_dump(exclude={*_FORM_FIELDS})
    values |= {"site_url": site_url.strip(), "deployment": deployment}
    if deployment == "cloud":
        values["email"] = (email or "").strip() or None
    else:
        values["confluence_url"] = (confluence_url or "").strip() or None
    values[secret_field] = kept if kept is not None else SecretStr(secret)
    try:
        return JsmConnection.model_validate(values)
    except ValidationError as exc:
        problems = _by_field(exc)
    if "site_url" in problems:
        # pydantic skips the credential checks once a field failed: ask again with a stand-in site,
        # so that every problem is reported at once.
        try:
            JsmConnection.model_validate(values | {"site_url": _PLACEHOLDER_SITE})
        except ValidationError as exc:
            problems |= {k: v for k, v in _by_field(exc).items() if k not in problems}
    raise ConnectionInvalid(problems)


def _by_field(error: ValidationError) -> dict[str, str]:
    problems: dict[str, str] = {}
    for item in error.errors():
        message = plain_message(item)
        if item["loc"]:
            problems.setdefault(str(item["loc"][0]), message)
            continue
        # The model's own check names its fields itself: "email: required …; api_token: required …".
        for part in message.split("; "):
            field, _, text = part.partition(": ")
            if field in _FORM_FIELDS and text:
                problems.setdefault(field, text)
            else:
                problems.setdefault("connection", part)
    return problems


async def forget_caches(services: Services) -> None:
    """Drop the cached desks, request types, forms, desk settings and customer links: this process's at
    once, every other worker's (of every instance) within a few seconds (`JiraSettings.clear_caches`)."""
    await services.jira.clear_caches()
    services.catalogue.refresh()
    services.desks.forget()
    services.customers.links.forget()


async def connect(services: Services, connection: JsmConnection) -> SiteSwitch | None:
    """Store the connection; nothing cached from the previous one (another site, other credentials) stays.

    Another site (URL or deployment type) than the stored one: its customer links and desk settings are
    deleted with the save, since its account ids and desk ids mean other people and desks there; the
    SiteSwitch returned says how many. A new token or service account on the same site keeps them.
    Other workers follow within their caches' few seconds (see `deskgate.portal.connection`)."""
    switch = await services.jira.replace(connection)
    await forget_caches(services)
    return switch


def site_switch_summary(switch: SiteSwitch) -> str:
    """What a connection to another site forgot, in one sentence for the admin and the audit log."""
    return (
        f"the customer links ({switch.customer_links}) and desk settings ({switch.desk_settings}) of the "
        f"previous site {switch.previous_site_url} were deleted"
    )


async def change_desk(
    desks: DeskSettings,
    desk_id: str,
    *,
    sso: bool | None = None,
    request_types: tuple[str, ...] | Literal["unchanged"] | None = "unchanged",
) -> DeskSetting:
    """Save one desk's settings: `sso` None and `request_types` "unchanged" keep what is stored;
    `request_types` None shows every request type (including ones added later)."""
    setting = await desks.get(desk_id)
    if sso is None and request_types == "unchanged":
        return setting
    setting = DeskSetting(
        desk_id,
        setting.sso_enabled if sso is None else sso,
        setting.visible_request_types if request_types == "unchanged" else request_types,
    )
    await desks.save(setting)
    return setting


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool | None  # None: cannot be told without side effects
    detail: str


async def check_connection(http: httpx.AsyncClient, connection: JsmConnection | None) -> list[Check]:
    """Every check that can be made, stopping where the next would only repeat the same failure."""
    if connection is None:
        return [
            Check(
                "connection",
                False,
                "JSM is not connected: save a connection first (`deskgate jira connect` or the console's Jira page)",
            )
        ]
    # Few retries: an admin waiting for the answer wants it now, not after a long backoff.
    client = JsmClient(http, connection, retry=RetryPolicy(max_attempts=2, base_delay=0.2))
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
    try:
        desks = await client.service_desks()
        checks += await _desk_checks(client, desks)
        checks += await _permission_checks(client, desks)
    except JsmError as exc:  # a desk vanishing or JSM failing half-way: say so instead of failing the check
        checks.append(Check("service desks", False, f"JSM failed while checking the desks: {exc}"))
    return checks


async def _permission_checks(client: JsmClient, desks: tuple[ServiceDesk, ...]) -> list[Check]:
    """The permissions the contract names for provisioning, asked with Jira's "Get my permissions": creating
    a customer needs the Jira Administrator global permission (ADMINISTER), adding one to a desk the
    desk's service desk administrator role (its project's ADMINISTER_PROJECTS; a Jira administrator's
    too, so either is accepted)."""
    admin = (await client.my_permissions("ADMINISTER"))["ADMINISTER"]
    checks = [Check("create customers", admin, _CREATE_OK if admin else _CREATE_MISSING)]
    for desk in desks:
        held = (await client.my_permissions("ADMINISTER_PROJECTS", project_key=desk.project_key))[
            "ADMINISTER_PROJECTS"
        ]
        ok = admin or held
        checks.append(Check(f"add customers: {desk.project_key}", ok, _ADD_OK if ok else _ADD_MISSING))
    return checks


_CREATE_OK = "holds the Jira Administrator global permission ('Administer Jira') that JSM requires"
_CREATE_MISSING = (
    "lacks the Jira Administrator global permission ('Administer Jira'), which JSM requires to create a "
    "customer: a first sign-in of someone JSM does not know fails. Grant it (Jira settings → System → "
    "Global permissions, e.g. through the jira-administrators group), or create every customer in JSM first"
)
_ADD_OK = "may add customers to this desk (service desk administrator, or Jira administrator)"
_ADD_MISSING = (
    "lacks this desk's service desk administrator role, which JSM requires to add a customer to the desk: "
    "make the service account an administrator of the service project (Project settings → People → "
    "Administrators)"
)


async def _desk_checks(client: JsmClient, desks: tuple[ServiceDesk, ...]) -> list[Check]:
    if not desks:
        hint = "the service account sees no service desk: make it an agent of each desk's project"
        return [Check("service desks", False, hint)]
    checks = [Check("service desks", True, ", ".join(f"{d.project_key} ({d.id})" for d in desks))]
    for desk in desks:
        name = f"raise on behalf: {desk.project_key}"
        types = await client.request_types(desk.id)
        if not types:
            checks.append(Check(name, False, "the desk has no request types"))
            continue
        form = await client.request_form(desk.id, types[0].id)
        allowed = form.can_raise_on_behalf_of
        detail = (
            "may raise requests for customers"
            if allowed
            else "may NOT raise requests for customers: make the service account an agent of this project"
        )
        checks.append(Check(name, allowed, detail))
    return checks


def _secret_hint(connection: JsmConnection) -> str:
    if connection.deployment == "cloud":
        return "check the e-mail address and the API token (id.atlassian.com → Security → API tokens)"
    return "check the personal access token (profile → Personal Access Tokens) and that it has not expired"
