"""Configuration changes are audited with what they changed (before → after, secrets masked), and the
audit page shows it."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig
from tests.support.admin import console_sign_in
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

SECRET = "client-secret-0123456789"


def _idp(name: str) -> ProviderConfig:
    return ProviderConfig(
        name=name,
        title=f"{name.title()} SSO",
        issuer=f"https://{name}.idp.test",
        client_id="deskgate",
        client_secret=SecretStr(SECRET),
    )


def _changes_shown(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", item) for item in re.findall(r"<li>(<code>.*?)</li>", html, re.S)]


async def test_an_idp_change_is_audited_field_by_field(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp("gluu"))
        token = await console_sign_in(client, services)
        data = {"csrf_token": token, "confirm": "disable"}
        assert (await client.post("/admin/idps/gluu/disable", data=data)).status_code == 303
        (event,) = await services.audit.query(event="admin.idp.disable")
        assert event.changes == [{"field": "enabled", "before": True, "after": False}]
        page = await client.get("/admin/audit", params={"event": "admin.idp.disable"})
        assert _changes_shown(page.text) == ["enabled: yes → no"]


async def test_a_login_page_change_shows_before_and_after(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await services.providers.save(_idp("gluu"))
        token = await console_sign_in(client, services, "/admin/login-page")
        form = {
            "csrf_token": token,
            "mode": "chooser",
            "default_idp": "",
            "domains": "",
            "name": "Acme Support",
        }
        assert (await client.post("/admin/login-page", data=form)).status_code == 303
        (event,) = await services.audit.query(event="admin.login_page.update")
        assert event.changes is not None
        assert {"field": "branding.name", "before": None, "after": "Acme Support"} in event.changes
        assert event.detail and event.detail.startswith("changed mode, branding.name by ")
        page = await client.get("/admin/audit", params={"event": "admin.login_page.update"})
        assert _changes_shown(page.text) == ["mode: automatic → chooser", "branding.name: — → Acme Support"]
        assert SECRET not in page.text
