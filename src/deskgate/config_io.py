"""Export the whole configuration to a document, and import such a document back: the one code path of
`deskgate config export|import` and the console's backup page.

The document is ``{"version": 1, "idps": [ProviderConfig, ...], "jsm": JsmConnection, "desks": [...],
"login_page": LoginPageSettings}``: IdPs in display order, `jsm` only when connected, `desks` the per-desk
portal settings that differ from the default (SSO on, every request type shown), `login_page` the customer
sign-in page and branding. Secrets (IdP client secrets, the JSM service account's
token) are left out unless asked for, so an export can be shared or kept in version control; importing an
entry without its secret keeps the one already stored (same IdP name; same JSM deployment type), so such
an export round-trips.

An import is checked as a whole before anything is written: every problem in every entry is reported
at once (as `ConfigError.problems`), and nothing changes unless there are none. A JSM connection to
another site than the stored one is saved as the Jira page saves it (`deskgate.portal.jira_setup.connect`):
the previous site's customer links and desk settings go, the report says how many, and the document's
desk settings are saved after that, for the new site. An IdP the import disables or deletes ends its
customer sessions, as in the console (`Services.save_provider`, `delete_provider`). Reading the file, which
may come from anywhere, is `deskgate.config_document`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from deskgate.changes import model_changes
from deskgate.config_document import capped
from deskgate.errors import ConfigError
from deskgate.identity.presets import PresetInputError
from deskgate.identity.presets.entries import built_by_preset, provider_from_entry
from deskgate.identity.provider import ProviderConfig
from deskgate.jsm import JsmConnection
from deskgate.login.page import LoginPageSettings
from deskgate.portal.connection import SiteSwitch
from deskgate.portal.desks import DeskSetting
from deskgate.portal.jira_setup import connect
from deskgate.services import Services
from deskgate.validation import plain_message

FORMAT_VERSION = 1
# A stand-in secret, only so that validation can go on to find an entry's other problems; never stored.
_PLACEHOLDER_SECRET = SecretStr("deskgate-import-placeholder")


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import changed, by IdP name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # in the file exactly as stored: not written
    deleted: list[str] = field(default_factory=list)
    kept_secrets: list[str] = field(default_factory=list)  # imported without a secret; the stored one stays
    jsm: str | None = None  # "created" or "updated" when the document carried a JSM connection
    login_page: bool = False  # whether the document carried login-page settings (then saved)
    desks: list[str] = field(default_factory=list)  # ids of the desks whose settings were saved
    site_switch: SiteSwitch | None = None  # the connection is for another site: what of the previous went
    sessions_ended: int = 0  # customer sessions of the IdPs the import disabled or deleted


class DeskEntry(BaseModel):
    """One desk's portal settings in a document (what `deskgate jira desk` and the Jira page change)."""

    # A hand-written `desk_id: 1` is the desk "1", not an error.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    desk_id: str = Field(pattern=r"^\d{1,18}$", description="The service desk's id.")
    sso_enabled: bool = Field(True, description="Whether the portal serves this desk.")
    visible_request_types: list[Annotated[str, Field(pattern=r"^\d{1,18}$")]] | None = Field(
        None, description="The request type ids the portal shows; absent or null: all of them."
    )


async def export_config(services: Services, *, include_secrets: bool = False) -> dict[str, Any]:
    idps = []
    for config in await services.providers.all():
        entry = config.model_dump(mode="json", exclude={"client_secret"})
        if include_secrets and config.client_secret is not None:
            entry["client_secret"] = config.client_secret.get_secret_value()
        idps.append(entry)
    document: dict[str, Any] = {"version": FORMAT_VERSION, "idps": idps}
    connection = await services.jira.get()
    if connection is not None:
        document["jsm"] = _export_jsm(connection, include_secrets)
    desks = sorted((await services.desks.all()).values(), key=lambda d: int(d.desk_id))
    if desks:
        document["desks"] = [_export_desk(desk) for desk in desks]
    document["login_page"] = await services.login_page.export()
    return document


async def export_yaml(services: Services, *, include_secrets: bool = False) -> str:
    """The export as the YAML text a file holds."""
    document = await export_config(services, include_secrets=include_secrets)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _export_desk(setting: DeskSetting) -> dict[str, Any]:
    visible = list(setting.visible_request_types) if setting.visible_request_types is not None else None
    entry = DeskEntry(desk_id=setting.desk_id, sso_enabled=setting.sso_enabled, visible_request_types=visible)
    return entry.model_dump(mode="json")


def _validate_desks(entries: object) -> tuple[list[DeskSetting], list[str]]:
    if entries is None:
        return [], []
    if not isinstance(entries, list):
        return [], ["desks: expected a list of desk settings"]
    settings: list[DeskSetting] = []
    problems: list[str] = []
    for index, entry in enumerate(entries):
        try:
            desk = DeskEntry.model_validate(entry)
        except ValidationError as exc:
            problems += [f"desks[{index}]: {problem}" for problem in _describe(exc)]
            continue
        visible = tuple(dict.fromkeys(desk.visible_request_types)) if desk.visible_request_types else None
        if desk.visible_request_types == []:
            problems.append(
                f"desks[{index}] ({desk.desk_id}): visible_request_types: empty (use null for all)"
            )
        settings.append(DeskSetting(desk.desk_id, desk.sso_enabled, visible))
    ids = [setting.desk_id for setting in settings]
    problems += [
        f"desks: the desk {i!r} is listed twice" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    return settings, problems


_JSM_SECRETS = ("api_token", "personal_access_token")


def _export_jsm(connection: JsmConnection, include_secrets: bool) -> dict[str, Any]:
    entry = connection.model_dump(mode="json", exclude=set(_JSM_SECRETS))
    for name in _JSM_SECRETS:
        secret: SecretStr | None = getattr(connection, name)
        if include_secrets and secret is not None:
            entry[name] = secret.get_secret_value()
    return entry


def _validate_jsm(entry: object, stored: JsmConnection | None) -> tuple[JsmConnection | None, list[str]]:
    """The JSM connection of a document (a missing token kept from the stored one), or its problems."""
    if entry is None:
        return None, []
    if not isinstance(entry, dict):
        return None, [f"jsm: expected a mapping, found {type(entry).__name__}"]
    entry = dict(entry)
    if stored is not None and stored.deployment == entry.get("deployment", "cloud"):
        for name in _JSM_SECRETS:
            if not entry.get(name) and getattr(stored, name) is not None:
                entry[name] = getattr(stored, name)
    try:
        return JsmConnection.model_validate(entry), []
    except ValidationError as exc:
        return None, [f"jsm: {problem}" for problem in _describe(exc)]


def _validate_login_page(entry: object) -> tuple[LoginPageSettings | None, list[str]]:
    if entry is None:
        return None, []
    if not isinstance(entry, dict):
        return None, [f"login_page: expected a mapping, found {type(entry).__name__}"]
    try:
        return LoginPageSettings.model_validate(entry), []
    except ValidationError as exc:
        return None, [f"login_page: {problem}" for problem in _describe(exc)]


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """A document checked against what is stored: what importing it writes."""

    configs: list[ProviderConfig]
    kept_secrets: list[str]
    jsm: JsmConnection | None
    desks: list[DeskSetting]
    login_page: LoginPageSettings | None


def check_document(
    data: dict[str, Any], stored: dict[str, ProviderConfig], stored_jsm: JsmConnection | None
) -> ImportPlan:
    """The plan for a parsed document, or ConfigError listing every problem (no I/O: the import and the
    property tests share it)."""
    jsm, jsm_problems = _validate_jsm(data.get("jsm"), stored_jsm)
    desks, desk_problems = _validate_desks(data.get("desks"))
    login_page, page_problems = _validate_login_page(data.get("login_page"))
    others = [*jsm_problems, *desk_problems, *page_problems]
    try:
        configs, kept_secrets = _validate(data, stored)
    except ConfigError as exc:
        raise ConfigError(capped([*exc.problems, *others])) from None
    if others:
        raise ConfigError(capped(others))
    return ImportPlan(configs, kept_secrets, jsm, desks, login_page)


async def import_config(services: Services, data: dict[str, Any], *, replace: bool = False) -> ImportReport:
    """Save every IdP in `data` (and with `replace`, delete the others), or change nothing and raise."""
    stored = {config.name: config for config in await services.providers.all()}
    stored_jsm = await services.jira.get()
    plan = check_document(data, stored, stored_jsm)
    configs, jsm, desks, login_page = plan.configs, plan.jsm, plan.desks, plan.login_page
    deleted = sorted(set(stored) - {c.name for c in configs}) if replace else []
    # The connection first: on another site it deletes the desk settings, which the document's then replace.
    switch = await connect(services, jsm) if jsm is not None else None
    for desk in desks:
        await services.desks.save(desk)
    if login_page is not None:
        await services.login_page.save(login_page)
    unchanged = [c.name for c in configs if c.name in stored and not model_changes(stored[c.name], c)]
    ended = 0
    for config in configs:
        if config.name not in unchanged:
            ended += await services.save_provider(config)
    for name in deleted:
        ended += await services.delete_provider(name)
    return ImportReport(
        created=[c.name for c in configs if c.name not in stored],
        updated=[c.name for c in configs if c.name in stored and c.name not in unchanged],
        unchanged=unchanged,
        deleted=deleted,
        kept_secrets=plan.kept_secrets,
        jsm=None if jsm is None else ("updated" if stored_jsm is not None else "created"),
        desks=[desk.desk_id for desk in desks],
        login_page=login_page is not None,
        site_switch=switch,
        sessions_ended=ended,
    )


def _validate(
    data: dict[str, Any], stored: dict[str, ProviderConfig]
) -> tuple[list[ProviderConfig], list[str]]:
    problems: list[str] = []
    if data.get("version") != FORMAT_VERSION:
        problems.append(f"version: expected {FORMAT_VERSION}, found {data.get('version')!r}")
    problems += [
        f"{key}: unknown key"
        for key in sorted(set(data) - {"version", "idps", "jsm", "desks", "login_page"}, key=str)
    ]
    entries = data.get("idps")
    if not isinstance(entries, list):
        raise ConfigError([*problems, "idps: expected a list of identity providers"])

    configs: list[ProviderConfig] = []
    kept_secrets: list[str] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"idps[{index}]: expected a mapping, found {type(entry).__name__}")
            continue
        name = entry.get("name")
        label = f"idps[{index}] ({name})" if isinstance(name, str) else f"idps[{index}]"
        entry = dict(entry)
        if not entry.get("client_secret") and _needs_secret(entry):
            previous = stored.get(name) if isinstance(name, str) else None
            if previous is not None and previous.client_secret is not None:
                entry["client_secret"] = previous.client_secret
                kept_secrets.append(previous.name)
            else:
                problems.append(
                    f"{label}: client_secret: missing, and no IdP of that name is stored to keep it from "
                    "(import an export made with --include-secrets, or add the secret to the file)"
                )
                entry["client_secret"] = _PLACEHOLDER_SECRET
        try:
            built = built_by_preset(entry)
            configs.append(provider_from_entry(entry) if built else ProviderConfig.model_validate(entry))
        except PresetInputError as exc:
            problems += [f"{label}: {field}: {message}" for field, message in exc.errors.items()]
        except ValidationError as exc:
            problems += [f"{label}: {problem}" for problem in _describe(exc)]

    names = [config.name for config in configs]
    problems += [
        f"idps: the name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    if problems:
        raise ConfigError(problems)
    return configs, kept_secrets


def _needs_secret(entry: dict[str, Any]) -> bool:
    """Whether the entry's IdP authenticates with a client secret (a SAML IdP has none to keep)."""
    if entry.get("protocol") == "saml":
        return False
    default = ProviderConfig.model_fields["token_endpoint_auth_method"].default
    return bool(entry.get("token_endpoint_auth_method", default) != "none")


def _describe(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        message = plain_message(item)
        where = ".".join(str(part) for part in item["loc"])
        problems.append(f"{where}: {message}" if where else message)
    return problems
