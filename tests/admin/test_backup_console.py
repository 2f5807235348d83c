"""The backup page: the export download (secrets only when asked), the import of an uploaded file (a round
trip, merge or replace, every problem listed and nothing changed), CSRF refusals, and the audit trail."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig
from deskgate.jsm import JsmConnection
from deskgate.login.page import LoginPageSettings
from deskgate.portal.desks import DeskSetting
from deskgate.services import Services
from tests.support.admin import ADMIN_PASSWORD, ADMIN_USER, create_admin, csrf_token
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio
SEALED = re.compile(r'name="document" value="([^"]+)"')

CLIENT_SECRET = "backup-client-secret-never-shown-77"
JSM_TOKEN = "backup-jsm-token-never-shown-88"
GLUU = ProviderConfig(
    name="gluu",
    title="Corp Gluu",
    issuer="https://idp.corp.test",
    client_id="deskgate",
    client_secret=SecretStr(CLIENT_SECRET),
    order=10,
)
JSM = JsmConnection(
    site_url="https://example.atlassian.net",
    deployment="cloud",
    email="deskgate-bot@example.com",
    api_token=SecretStr(JSM_TOKEN),
)
DESK = DeskSetting("1", sso_enabled=False, visible_request_types=("2", "1"))
LOGIN_PAGE = LoginPageSettings(
    mode="chooser", domains={"corp.test": "gluu"}, labels={"gluu": "Staff sign-in"}
)


@dataclass
class Console:
    client: httpx.AsyncClient
    services: Services
    token: str

    async def export(self, **data: str) -> httpx.Response:
        return await self.client.post("/admin/backup/export", data={"csrf_token": self.token, **data})

    async def preview(
        self, text: str | bytes, mode: str = "merge", name: str = "deskgate.yaml"
    ) -> httpx.Response:
        """The first step: the upload, answered with what the import would change."""
        content = text.encode() if isinstance(text, str) else text
        return await self.client.post(
            "/admin/backup/import",
            data={"csrf_token": self.token, "mode": mode},
            files={"file": (name, content, "application/yaml")},
        )

    async def upload(
        self, text: str | bytes, mode: str = "merge", name: str = "deskgate.yaml"
    ) -> httpx.Response:
        """Both steps: the preview, then its form (confirmed, for replace); a refused preview as it is."""
        previewed = await self.preview(text, mode, name)
        sealed = SEALED.search(previewed.text)
        if previewed.status_code != 200 or sealed is None:
            return previewed
        data = {"csrf_token": self.token, "mode": mode, "document": html.unescape(sealed.group(1))}
        return await self.client.post(
            "/admin/backup/import", data=data | ({"confirm": "replace"} if mode == "replace" else {})
        )

    async def details(self, event: str) -> list[str | None]:
        return [e.detail for e in await self.services.audit.query(event=event)]

    async def state(
        self,
    ) -> tuple[list[ProviderConfig], JsmConnection | None, dict[str, DeskSetting], dict[str, Any]]:
        services = self.services
        return (
            await services.providers.all(),
            await services.jira.get(),
            await services.desks.all(),
            await services.login_page.export(),
        )


@pytest.fixture
async def console(db_url: str) -> AsyncIterator[Console]:
    async with running_app(db_url) as (client, services):
        await services.providers.save(GLUU)
        await services.jira.save(JSM)
        await services.desks.save(DESK)
        await services.login_page.save(LOGIN_PAGE)
        await create_admin(services)
        form = await client.get("/admin/login")
        data = {"csrf_token": csrf_token(form.text), "username": ADMIN_USER, "password": ADMIN_PASSWORD}
        assert (await client.post("/admin/login", data=data)).status_code == 303
        page = await client.get("/admin/backup")
        assert page.status_code == 200
        yield Console(client, services, csrf_token(page.text))


def _yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False)


async def test_the_page_warns_before_secrets_are_included(console: Console) -> None:
    page = await console.client.get("/admin/backup")
    assert 'for="include-secrets"' in page.text and 'name="include_secrets"' in page.text
    assert "Warning:" in page.text and 'aria-describedby="include-secrets-warning"' in page.text
    assert 'enctype="multipart/form-data"' in page.text and 'for="import-file"' in page.text
    assert 'id="mode-merge" name="mode" value="merge" checked' in page.text
    assert CLIENT_SECRET not in page.text and JSM_TOKEN not in page.text


async def test_export_is_a_download_without_secrets_unless_asked(console: Console) -> None:
    plain = await console.export()
    assert plain.status_code == 200
    assert plain.headers["content-disposition"].startswith('attachment; filename="deskgate-config-')
    assert "no-store" in plain.headers["cache-control"]
    assert plain.headers["content-type"].startswith("application/yaml")
    document = yaml.safe_load(plain.text)
    assert [idp["name"] for idp in document["idps"]] == ["gluu"]
    assert "client_secret" not in document["idps"][0]
    assert document["jsm"]["site_url"] == JSM.site_url and "api_token" not in document["jsm"]
    assert document["desks"] == [{"desk_id": "1", "sso_enabled": False, "visible_request_types": ["2", "1"]}]
    assert CLIENT_SECRET not in plain.text and JSM_TOKEN not in plain.text

    with_secrets = await console.export(include_secrets="on")
    document = yaml.safe_load(with_secrets.text)
    assert document["idps"][0]["client_secret"] == CLIENT_SECRET
    assert document["jsm"]["api_token"] == JSM_TOKEN
    assert await console.details("admin.backup.export") == [
        f"configuration exported with its secrets by {ADMIN_USER}",
        f"configuration exported without secrets by {ADMIN_USER}",
    ]


async def test_an_exported_file_round_trips_and_the_report_says_what_changed(console: Console) -> None:
    original = await console.state()
    exported = (await console.export()).text
    # Changed after the export: the import puts it back, the secrets kept from what is stored.
    await console.services.providers.save(GLUU.model_copy(update={"title": "Renamed"}))
    await console.services.desks.save(DeskSetting("1"))
    await console.services.jira.save(JSM.model_copy(update={"email": "someone-else@example.com"}))

    report = await console.upload(exported)
    assert report.status_code == 200, report.text
    assert "The configuration is imported" in report.text
    assert "<dt>Identity providers updated</dt><dd>gluu</dd>" in report.text
    assert "<dt>Client secrets kept from the stored IdPs</dt><dd>gluu</dd>" in report.text
    assert "<dt>Desk settings saved</dt><dd>1</dd>" in report.text
    assert "<dt>JSM connection</dt><dd>updated</dd>" in report.text
    assert "<dt>Login page and branding</dt><dd>saved</dd>" in report.text
    assert CLIENT_SECRET not in report.text and JSM_TOKEN not in report.text
    assert await console.state() == original
    assert await console.details("admin.backup.import") == [
        "configuration imported (merge): updated gluu; desks 1; JSM connection updated; "
        f"login page settings saved by {ADMIN_USER}"
    ]


async def test_merge_keeps_and_replace_deletes_the_idps_the_file_does_not_list(console: Console) -> None:
    exported = (await console.export()).text
    extra = GLUU.model_copy(update={"name": "extra", "title": "Extra", "order": 20})
    await console.services.providers.save(extra)
    assert (await console.upload(exported)).status_code == 200
    assert [p.name for p in await console.services.providers.all()] == ["gluu", "extra"]
    assert "Customer sessions ended" not in (await console.upload(exported)).text
    session_id, _ = await console.services.sessions.start(
        idp="extra", subject="ada", email="ada@example.com", display_name="Ada", attributes={}
    )
    replaced = await console.upload(exported, mode="replace")
    assert (
        replaced.status_code == 200 and "<dt>Identity providers deleted</dt><dd>extra</dd>" in replaced.text
    )
    assert '<dd id="import-sessions-ended">1, of the identity providers' in replaced.text
    assert 'id="mode-replace" name="mode" value="replace" checked' in replaced.text
    assert [p.name for p in await console.services.providers.all()] == ["gluu"]
    assert await console.services.sessions.resolve(session_id) is None
    assert (await console.details("admin.backup.import"))[0] == (  # newest first
        f"configuration imported (replace): unchanged gluu; deleted extra; desks 1; JSM connection updated; "
        f"login page settings saved; customer sessions ended: 1 by {ADMIN_USER}"
    )


async def test_invalid_files_list_every_problem_and_change_nothing(console: Console) -> None:
    before = await console.state()
    broken = await console.upload("idps: [unclosed", name="broken.yaml")
    assert broken.status_code == 400 and 'role="alert"' in broken.text
    assert "Nothing was imported" in broken.text and "broken.yaml: not valid YAML" in broken.text

    good = {"name": "fine", "title": "Fine", "issuer": "https://fine.example", "client_id": "c"}
    document = {
        "version": 1,
        "idps": [
            good | {"client_secret": "s"},
            good | {"name": "Nope!", "client_secret": "s"},
            good | {"name": "nosecret"},
        ],
        "jsm": {"site_url": "http://jira.example.com", "deployment": "cloud"},
        "desks": [{"desk_id": "ITH", "sso_enabled": "maybe"}, {"desk_id": 2, "visible_request_types": []}],
        "login_page": {"mode": "sometimes"},
    }
    invalid = await console.upload(_yaml(document), mode="replace")
    assert invalid.status_code == 400
    for problem in (
        "idps[1] (Nope!): name:",
        "idps[2] (nosecret): client_secret: missing",
        "jsm: site_url: must use https",
        "desks[0]: desk_id:",
        "desks[0]: sso_enabled:",
        "desks[1] (2): visible_request_types: empty",
        "login_page: mode:",
    ):
        assert problem in invalid.text, problem
    assert 'id="mode-replace" name="mode" value="replace" checked' in invalid.text
    nothing = await console.client.post(
        "/admin/backup/import", data={"csrf_token": console.token, "mode": "merge"}
    )
    assert nothing.status_code == 400 and "Choose the exported file" in nothing.text
    binary = await console.upload(b"\xff\xfe\x00 not text", name="x.bin")
    assert binary.status_code == 400 and "x.bin: not a text file" in binary.text
    assert await console.state() == before
    assert await console.details("admin.backup.import") == []


async def test_both_posts_refuse_a_missing_or_wrong_csrf_token(console: Console) -> None:
    before = await console.state()
    exported = (await console.export()).text
    await console.services.providers.save(GLUU.model_copy(update={"title": "Changed"}))
    changed = await console.state()
    assert changed != before
    for token in ({}, {"csrf_token": "forged"}):
        refused = await console.client.post("/admin/backup/export", data=token)
        assert refused.status_code == 403 and CLIENT_SECRET not in refused.text
        upload = await console.client.post(
            "/admin/backup/import",
            data={**token, "mode": "replace"},
            files={"file": ("deskgate.yaml", exported.encode(), "application/yaml")},
        )
        assert upload.status_code == 403
    assert await console.state() == changed
    assert len(await console.details("admin.backup.export")) == 1
    assert await console.details("admin.backup.import") == []


async def test_the_page_needs_an_admin(db_url: str) -> None:
    async with running_app(db_url) as (client, _):
        for answer in (
            await client.get("/admin/backup"),
            await client.post("/admin/backup/export", data={"include_secrets": "on"}),
        ):
            assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


async def test_hostile_uploads_get_the_problem_page_never_a_500(console: Console) -> None:
    before = await console.state()
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "\n".join(
        f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    for content, problem in (
        ("[" * 5000, "deep.yaml: refused: nested deeper than 32 levels"),
        ("- " * 5000 + "x", "deep.yaml: refused: nested deeper than 32 levels"),
        (laughs, "deep.yaml: refused: its aliases expand it to more than 100,000 values"),
        ("version: 2024-13-45\nidps: []", "deep.yaml: not valid YAML: month must be in 1..12"),
        ("version: " + "9" * 5000, "deep.yaml: not valid YAML: Exceeds the limit"),
        ("[1, 2]", "deep.yaml: expected a mapping with &#39;version&#39; and &#39;idps&#39;, found a list"),
    ):
        answer = await console.upload(content, name="deep.yaml")
        assert answer.status_code == 400, problem
        assert "Nothing was imported" in answer.text and problem in answer.text, problem
    assert await console.state() == before
